"""Opening captures with Debian's tshark (scripts/ensure-tshark.sh installs it).

One tshark run per file: :func:`decode` returns every packet's layers as tshark's
``-T json`` shows them, and :func:`problems` finds the malformed packets and expert
warnings and errors in what it returned (:func:`expert_problems` does both).  Each run
gets an empty Wireshark configuration directory, so a user's own preferences or keys
cannot change what the tests see.  :func:`field` finds a field's values in one packet;
:func:`reassembled_gbcs` reads the GBCS messages tshark rebuilt from GBT blocks in the
terms ``hht parse`` uses (:func:`webapp.gbcs.describe.describe`), to compare the two.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

TSHARK = "/usr/bin/tshark"
TIMEOUT_SECONDS = 60
# _ws.expert.severity values (epan/proto.h PI_WARN, PI_ERROR): warnings and errors count.
SEVERITY_WARN = 0x00600000
CUT_SHORT = "appears to have been cut short in the middle of a packet"

# Wireshark's GBCS dissector: a GBCS message it reassembled from GBT blocks, and the
# grouping header of that message.
GBT_REASSEMBLED_LENGTH = "gbcs_message.gbt.reassembled.length"
GBT_BLOCK_COUNT = "gbcs_message.gbt.block.count"
GROUPING_HEADER = "gbcs_message.grouping_header"
#: The CRA flag of a GBCS transaction id, named as ``hht parse`` names a message's kind.
CRA_KINDS = {0x01: "command", 0x02: "response", 0x03: "alert"}
#: What :func:`reassembled_gbcs` reads of a message, under the names ``hht parse`` uses.
HHT_PARSE_KEYS = ("kind", "counter", "originator", "recipient", "message_code", "length")

needs_tshark = pytest.mark.skipif(
    not os.access(TSHARK, os.X_OK),
    reason=f"{TSHARK} is absent: run scripts/ensure-tshark.sh (Debian package tshark)",
)


class TsharkError(AssertionError):
    """tshark failed; the message carries its exit status and stderr."""


def key_preferences(keys: Sequence[bytes] | Mapping[str, bytes]) -> list[str]:
    """``-o`` options giving ``keys`` to the ZigBee dissector's Pre-configured Keys table,
    labelled by their names when given as a mapping (tshark shows the label of the key
    that opened a frame as ``zbee.sec.decryption_key``)."""
    labelled = (
        keys.items()
        if isinstance(keys, Mapping)
        else ((f"test key {n}", key) for n, key in enumerate(keys, 1))
    )
    options: list[str] = []
    for label, key in labelled:
        row = f'"{bytes(key).hex().upper()}","Normal","{label}"'
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
    arguments = ["-n", "-r", str(pcap), "-T", "json", "--no-duplicate-keys"]
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


def one(layers: dict[str, Any], name: str) -> Any:
    """The value of field ``name``, which must occur exactly once in one packet's layers."""
    values = field(layers, name)
    if len(values) != 1:
        raise AssertionError(f"{name}: {len(values)} values, not one: {values!r}")
    return values[0]


def eui_hex(text: str) -> str:
    """An EUI-64 as tshark shows it (``90:b3:...``) as the project writes it (``90B3...``)."""
    return text.replace(":", "").upper()


def message_code_hex(text: str) -> str:
    """A GBCS message code as tshark shows it (``0x00a2``) as ``hht parse`` does (``0x00A2``)."""
    return f"0x{int(text, 16):04X}"


def in_hht_parse_terms(message: dict[str, Any]) -> dict[str, Any]:
    """The :data:`HHT_PARSE_KEYS` of ``message``: one of :func:`reassembled_gbcs` or what
    :func:`webapp.gbcs.describe.describe` (``hht parse``) returns, so the two compare."""
    return {key: message[key] for key in HHT_PARSE_KEYS}


def reassembled_gbcs(packets: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each GBCS message tshark reassembled from GBT blocks, in order, with the keys of
    :func:`webapp.gbcs.describe.describe` (:data:`HHT_PARSE_KEYS`) as its GBCS dissector
    reads them, and ``frame`` (the number of the packet that completed it) and ``blocks``."""
    found: list[dict[str, Any]] = []
    for number, layers in enumerate(packets, 1):
        if not field(layers, GBT_REASSEMBLED_LENGTH):
            continue
        found.append(
            {
                "frame": number,
                "blocks": int(one(layers, GBT_BLOCK_COUNT)),
                "length": int(one(layers, GBT_REASSEMBLED_LENGTH)),
                "kind": CRA_KINDS[int(one(layers, f"{GROUPING_HEADER}.cra_flag"), 16)],
                "counter": int(one(layers, f"{GROUPING_HEADER}.originator_counter")),
                "originator": eui_hex(one(layers, f"{GROUPING_HEADER}.business_originator_id")),
                "recipient": eui_hex(one(layers, f"{GROUPING_HEADER}.business_target_id")),
                "message_code": message_code_hex(one(layers, f"{GROUPING_HEADER}.message_code")),
            }
        )
    return found


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
