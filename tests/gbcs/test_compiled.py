"""The compiled copy of the parser (see setup.py), where there is one, matches its source."""

from __future__ import annotations

from pathlib import Path

import webapp.gbcs

PACKAGE = Path(webapp.gbcs.__file__).resolve().parent


def test_no_compiled_module_is_older_than_its_source():
    stale = [
        compiled.name
        for compiled in sorted(PACKAGE.glob("*.so")) + sorted(PACKAGE.glob("*.pyd"))
        if compiled.stat().st_mtime
        < (PACKAGE / f"{compiled.name.split('.')[0]}.py").stat().st_mtime
    ]
    assert not stale, f"compiled before their source last changed (run make setup): {stale}"
