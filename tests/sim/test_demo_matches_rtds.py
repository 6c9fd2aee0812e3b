"""The demo's commands, and the simulated devices' answers, have the shape of the DCC's
reference messages (RTDS) for the same use case: the same tree of field names.

RTDS 4.5.0 has no ECS01a, CS03A1, CS03B, CCS02 or GCS28 messages: ECS01a is compared with ECS01b
(whose price sets it carries besides its calendar), the joins with CS03A2 (the same Join
Device Command), and CCS02 and GCS28 with nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from webapp.gbcs.describe import parse_input
from webapp.gbcs.message import parse_message
from webapp.sim.han.han import SimHan
from webapp.sim.han.scenario import SiteInfo
from webapp.sim.pki import Identity, TestPki

from .demo_messages import answer_of, demo_commands, field_paths

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
RTDS = SHARED / "rtds" / "RTDS-4.5.0"

pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not RTDS.is_dir(), reason=f"reference data absent: {RTDS} not found"),
]

#: demo use case -> (RTDS message code to compare with, True when the shapes must be equal,
#: False when the RTDS shape must be part of the demo's).
REFERENCES = {
    "CCS01": (0x0001, True),
    "ECS70": (0x0062, True),
    "ECS17b": (0x0027, True),
    "ECS52": (0x0059, True),
    "GCS01a": (0x006B, True),
    "ECS01a": (0x00A2, False),
    "CS03A1": (0x00AB, True),
    "CS03B": (0x00AB, True),
    "CS04AC": (0x000F, True),
    "ECS35a": (0x0048, True),
    "ECS35b": (0x0049, True),
}


def _rtds_shapes(kind: str) -> dict[int, list[frozenset[tuple[str, ...]]]]:
    """Message code -> the shapes of the RTDS success messages of ``kind``."""
    shapes: dict[int, list[frozenset[tuple[str, ...]]]] = {}
    for path in sorted(RTDS.glob(f"*/*SUCCESS_{kind}_GBCS.HEX")):
        raw = parse_input(path)
        code = parse_message(raw).message_code
        shapes.setdefault(code, []).append(frozenset(field_paths(raw)))
    return shapes


@pytest.fixture(scope="module")
def rtds_commands() -> dict[int, list[frozenset[tuple[str, ...]]]]:
    return _rtds_shapes("COMMAND")


@pytest.fixture(scope="module")
def rtds_responses() -> dict[int, list[frozenset[tuple[str, ...]]]]:
    return _rtds_shapes("RESPONSE")


@pytest.fixture
def exchanges(han: SimHan, site: SiteInfo, tmp_path: Path) -> dict[str, tuple[bytes, bytes]]:
    supplier: Identity = TestPki.load_or_create(tmp_path / "pki").issue("90B3D51F30010000", "ds")
    return {
        step.use_case: (raw, answer_of(han, site, raw))
        for step, raw in demo_commands(han, site, supplier)
    }


def _matches(demo: set[tuple[str, ...]], references: list[frozenset], equal: bool) -> bool:
    if equal:
        return any(demo == reference for reference in references)
    return any(reference <= demo for reference in references)


@pytest.mark.parametrize("use_case", sorted(REFERENCES))
def test_command_has_the_rtds_shape(use_case, exchanges, rtds_commands) -> None:
    code, equal = REFERENCES[use_case]
    assert code in rtds_commands, f"RTDS has no success command 0x{code:04X}"
    demo = field_paths(exchanges[use_case][0])
    assert _matches(demo, rtds_commands[code], equal), sorted(
        demo.symmetric_difference(min(rtds_commands[code], key=lambda r: len(r ^ demo)))
    )


@pytest.mark.parametrize("use_case", sorted(REFERENCES))
def test_answer_has_the_rtds_shape(use_case, exchanges, rtds_responses) -> None:
    code, equal = REFERENCES[use_case]
    assert code in rtds_responses, f"RTDS has no success response 0x{code:04X}"
    demo = field_paths(exchanges[use_case][1])
    assert _matches(demo, rtds_responses[code], equal), sorted(
        demo.symmetric_difference(min(rtds_responses[code], key=lambda r: len(r ^ demo)))
    )
