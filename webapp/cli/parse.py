"""``hht parse``: GBCS messages from files or hex strings, as a readable tree or JSON.

Only the standard library and the GBCS codec are imported (not even click): the command
starts reading at once, which counts when a script parses one message per process.
"""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

SHOWN_SOURCE_LENGTH = 80
#: Exit status when an input is malformed or unreadable, or the arguments are wrong.
EXIT_BAD_INPUT = 2


def _is_file(name: str) -> bool:
    try:
        return Path(name).is_file()
    except OSError:  # e.g. a long hex string is no file name
        return False


def _source(item: str) -> str:
    """How an input is named in the output: a file name, or a hex string cut short."""
    if len(item) <= SHOWN_SOURCE_LENGTH or _is_file(item):
        return item
    return item[: SHOWN_SOURCE_LENGTH - 3] + "..."


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hht parse",
        description="Parse GBCS messages: INPUT is a file of hex or base64, or a hex string.",
    )
    parser.add_argument(
        "--json", dest="as_json", action="store_true", help="One JSON object per input, per line."
    )
    parser.add_argument(
        "--certs",
        type=Path,
        default=None,
        metavar="DIRECTORY",
        help="Directory of signers' certificates (<eui>-ds.pem) to verify signatures.",
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT")
    return parser


def main(argv: list[str]) -> int:
    """Run ``hht parse`` with ``argv``; the exit status (2 when any input was bad)."""
    args = argument_parser().parse_args(argv)  # exits 2, with usage, on bad arguments
    if args.certs is not None and not args.certs.is_dir():
        print(f"hht parse: --certs {args.certs}: no such directory", file=sys.stderr)
        return EXIT_BAD_INPUT

    # The codec's import makes thousands of objects that live as long as the process: the
    # cyclic collector walking them on the way finds nothing and only delays the start.
    # Once loaded they are set aside (frozen), so that collections between inputs skip them.
    gc.disable()
    try:
        from webapp.gbcs.describe import describe, parse_input, render_text
        from webapp.gbcs.errors import GbcsError
        from webapp.gbcs.signing import CertificateStore
    finally:
        gc.freeze()
        gc.enable()

    store = CertificateStore.from_directory(args.certs) if args.certs else None
    if args.as_json:
        import json  # only for --json: the readable tree needs no JSON encoder

    failed = 0
    out = sys.stdout
    for item in args.inputs:
        source = _source(item)
        try:
            described = describe(parse_input(item), store)
        except GbcsError as exc:
            failed += 1
            print(f"hht parse: {source}: malformed GBCS: {exc}", file=sys.stderr)
            continue
        except OSError as exc:
            failed += 1
            print(f"hht parse: {source}: cannot read: {exc.strerror or exc}", file=sys.stderr)
            continue
        if args.as_json:
            out.write(json.dumps({"source": source, **described}, separators=(",", ":")) + "\n")
        else:
            out.write(f"== {source}\n{render_text(described)}\n")
    out.flush()
    return EXIT_BAD_INPUT if failed else 0
