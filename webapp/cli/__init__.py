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
from typing import Any, NoReturn

PARSE = "parse"


def run() -> None:
    """The console script: owner-only files; a corrupt database is reported plainly, never
    as a traceback."""
    from webapp.files import restrict_umask

    restrict_umask()
    if sys.argv[1:2] == [PARSE]:
        _parse_and_exit(sys.argv[2:])
    from webapp.cli.group import main

    try:
        main()
    except Exception as exc:
        from webapp.store.db import CorruptDatabaseError

        if not isinstance(exc, CorruptDatabaseError):
            raise
        print(f"hht: {exc}", file=sys.stderr)
        sys.exit(3)


def _parse_and_exit(argv: list[str]) -> NoReturn:
    """``hht parse``, then exit at once: a one-shot parse leaves nothing to clean up, and
    tearing the interpreter down (three garbage collections, then every module) would cost
    it about a tenth of its time."""
    import gc
    import os

    gc.disable()  # until the codec is loaded: see webapp.cli.parse.main
    from webapp.cli.parse import main as parse_main

    status = parse_main(argv)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:
        sys.exit(status)  # the usual exit, which reports what could not be written
    os._exit(status)


def __getattr__(name: str) -> Any:
    """``main`` and ``COMMANDS`` (the click group and its command table), loaded on use."""
    if name in ("main", "COMMANDS"):
        from webapp.cli import group

        return getattr(group, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
