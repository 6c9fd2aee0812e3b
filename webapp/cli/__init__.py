"""The ``hht`` command's console script.

``hht parse`` goes straight to :mod:`webapp.cli.parse`, which needs neither click nor
anything but the GBCS codec, so a script parsing one message at a time starts fast. Every
other command goes through the click group in :mod:`webapp.cli.group`.

Every command, the server included, runs under an owner-only umask
(:func:`webapp.files.restrict_umask`): nothing it creates is readable by others, whatever
umask the shell or service manager started it with.
"""

from __future__ import annotations

import sys
from typing import Any

PARSE = "parse"


def run() -> None:
    """The console script: owner-only files; a corrupt database is reported plainly, never
    as a traceback."""
    from webapp.files import restrict_umask

    restrict_umask()
    if sys.argv[1:2] == [PARSE]:
        from webapp.cli.parse import main as parse_main

        sys.exit(parse_main(sys.argv[2:]))
    from webapp.cli.group import main

    try:
        main()
    except Exception as exc:
        from webapp.store.db import CorruptDatabaseError

        if not isinstance(exc, CorruptDatabaseError):
            raise
        print(f"hht: {exc}", file=sys.stderr)
        sys.exit(3)


def __getattr__(name: str) -> Any:
    """``main`` and ``COMMANDS`` (the click group and its command table), loaded on use."""
    if name in ("main", "COMMANDS"):
        from webapp.cli import group

        return getattr(group, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
