"""Coverage-guided fuzzing of the work-pack reader and the DUIS XML reader (not in make test).

    pip install atheris
    python fuzz/workpack_target.py -max_total_time=600

Any input may only be refused with WorkPackError (archive, manifest) or DuisError (XML);
anything else is a crash that atheris reports with the input that caused it.
"""

from __future__ import annotations

import contextlib
import sys

import atheris

with atheris.instrument_imports():
    from webapp.duis import DuisError, parse_local_command, parse_request
    from webapp.workpack.archive import read_archive
    from webapp.workpack.errors import WorkPackError
    from webapp.workpack.manifest import parse_manifest


def test_one_input(data: bytes) -> None:
    with contextlib.suppress(WorkPackError):
        read_archive(data)
    parse_manifest(data)  # reports problems, never raises
    for reader in (parse_local_command, parse_request):
        with contextlib.suppress(DuisError):
            reader(data)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
