"""Coverage-guided fuzzing of the GBCS parser with atheris (not part of make test).

    pip install atheris
    python fuzz/gbcs_target.py -max_total_time=600 fuzz/corpus

The only exception the parser may raise on any input is GbcsError; anything else is a
crash that atheris reports with the input that caused it.
"""

from __future__ import annotations

import contextlib
import sys

import atheris

with atheris.instrument_imports():
    from webapp.gbcs.describe import describe
    from webapp.gbcs.errors import GbcsError


def test_one_input(data: bytes) -> None:
    with contextlib.suppress(GbcsError):
        describe(data)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
