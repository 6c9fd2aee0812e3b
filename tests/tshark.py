"""Opening captures with Debian's tshark (scripts/ensure-tshark.sh installs it).

One tshark run per file: :func:`decode` returns every packet's layers as tshark's
``-T json`` shows them, and :func:`problems` finds the malformed packets and expert
warnings and errors in what it returned (:func:`expert_problems` does both).  Each run
gets an empty Wireshark configuration directory, so a user's own preferences or keys
cannot change what the tests see.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

TSHARK = "/usr/bin/tshark"
TIMEOUT_SECONDS = 60
# _ws.expert.severity values (epan/proto.h PI_WARN, PI_ERROR): warnings and errors count.
SEVERITY_WARN = 0x00600000
CUT_SHORT = "appears to have been cut short in the middle of a packet"

needs_tshark = pytest.mark.skipif(
    not os.access(TSHARK, os.X_OK),
    reason=f"{TSHARK} is absent: run scripts/ensure-tshark.sh (Debian package tshark)",
)


class TsharkError(AssertionError):
    """tshark failed; the message carries its exit status and stderr."""


def key_preferences(keys: Sequence[bytes]) -> list[str]:
    """``-o`` options giving ``keys`` to the ZigBee dissector's Pre-configured Keys table."""
    options: list[str] = []
    for number, key in enumerate(keys, 1):
        row = f'"{bytes(key).hex().upper()}","Normal","test key {number}"'
        options += ["-o", f"uat:zigbee_pc_keys:{row}"]
    return options


def run_tshark(arguments: Sequence[str], *, allow_truncated: bool = False) -> str:
    """tshark's stdout; a failure raises :class:`TsharkError` showing its stderr.

    ``allow_truncated`` accepts the one failure of a file cut short mid-packet: tshark
    still prints every whole packet before it, then exits with status 2.
    """
    with tempfile.TemporaryDirectory(prefix="wireshark-config-") as config:
        environment = {**os.environ, "WIRESHARK_CONFIG_DIR": config}
        completed = subprocess.run(
            [TSHARK, *arguments],
            capture_output=True,
            text=True,
            env=environment,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    if completed.returncode != 0 and not (allow_truncated and CUT_SHORT in completed.stderr):
        raise TsharkError(
            f"tshark {' '.join(arguments)} exited with status {completed.returncode}:\n"
            f"{completed.stderr.strip()}"
        )
    return completed.stdout


def decode(
    pcap: Path,
    *,
    keys: Sequence[bytes] = (),
    extra: Sequence[str] = (),
    allow_truncated: bool = False,
) -> list[dict[str, Any]]:
    """Every packet of ``pcap`` as its ``layers`` mapping (``frame``, ``wpan-tap``,
    ``wpan``, ...), duplicate keys merged into lists (``--no-duplicate-keys``)."""
    arguments = ["-r", str(pcap), "-T", "json", "--no-duplicate-keys"]
    output = run_tshark(
        [*arguments, *key_preferences(keys), *extra], allow_truncated=allow_truncated
    )
    return [packet["_source"]["layers"] for packet in json.loads(output or "[]")]


def problems(packets: Sequence[dict[str, Any]]) -> list[str]:
    """Each malformed packet and each expert warning or error, as ``frame N: message``."""
    found: list[str] = []
    for number, layers in enumerate(packets, 1):
        if "_ws.malformed" in layers:
            found.append(f"frame {number}: malformed packet")
        for expert in _find(layers, "_ws.expert"):
            if int(expert.get("_ws.expert.severity", 0)) >= SEVERITY_WARN:
                found.append(f"frame {number}: {expert.get('_ws.expert.message')}")
    return found


def expert_problems(pcap: Path, keys: Sequence[bytes] = ()) -> list[str]:
    return problems(decode(pcap, keys=keys))


def field(layers: dict[str, Any], name: str) -> list[Any]:
    """Every value of field ``name`` anywhere in one packet's layers."""
    return list(_find(layers, name))


def _find(node: Any, name: str) -> Iterator[Any]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == name:
                yield from value if isinstance(value, list) else [value]
            else:
                yield from _find(value, name)
    elif isinstance(node, list):
        for item in node:
            yield from _find(item, name)
