"""Wireshark as the independent judge of the simulated air.

One capture, recorded by the HHT's stack on a simulated HAN: the whole connection (scan,
Inter-PAN key establishment, registration, join, key establishment over APS, Request
Tunnel), a 3 KB command put through the tunnel (the meter's answer comes back), a 3 KB
response the hub holds for the HHT fetched with GET, then Close Tunnel.  tshark opens it
once, with the keys the stack gives (``capture_keys``), and the tests below read its JSON:
nothing malformed and no expert warning; every NWK- and APS-secured frame decrypts, under
the key it should; the key establishment, join and tunnel frames are the ones the stack
meant, in order; and the GBT blocks reassemble to the messages ``hht parse`` reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FAST, SEED, START
from tests.sim.conftest import big_response, hold_for_hht, run, send_and_receive
from tests.tshark import (
    decode,
    eui_hex,
    field,
    in_hht_parse_terms,
    needs_tshark,
    one,
    problems,
    reassembled_gbcs,
)
from tests.zigbee.gbt_vectors import ECS01A_SET_TARIFF, set_tariff_payload
from webapp.gbcs.describe import describe
from webapp.sim.dcc import DemoSupplier, build_command
from webapp.sim.han.clock import SimClock
from webapp.sim.han.han import SimHan
from webapp.sim.han.hub_network import network_key_of
from webapp.zigbee.capture import Capture
from webapp.zigbee.frames import registration
from webapp.zigbee.frames.aps import ApsFrameType
from webapp.zigbee.frames.aps_commands import ApsCommandId, KeyType
from webapp.zigbee.frames.gbhrgp import HrgpType
from webapp.zigbee.frames.key_establishment import KeCommandId
from webapp.zigbee.frames.mac import AssociationStatus, MacCommandId
from webapp.zigbee.frames.tunneling import (
    GB_HRGP_MAX_TRANSFER_SIZE,
    GB_HRGP_REQUEST,
    CloseTunnel,
    RequestTunnelResponse,
    TransferData,
    TunnelStatus,
    command_id,
)
from webapp.zigbee.frames.zcl import Direction
from webapp.zigbee.frames.zdo import DEVICE_ANNOUNCE_CLUSTER
from webapp.zigbee.stack import ZigbeeStack
from webapp.zigbee.tunnel_gbt import tunnel_parts

pytestmark = needs_tshark

COMMAND_COUNTER = 1
#: Octets of ZCL payload in the response the hub holds: about 3 KB with its headers.
HELD_RESPONSE_PAYLOAD = 3000

HHT_TO_HUB = Direction.CLIENT_TO_SERVER  # the HHT is the client of both clusters
HUB_TO_HHT = Direction.SERVER_TO_CLIENT
#: The command-id field of each cluster in each direction (Wireshark's SE dissectors).
KE_COMMAND_FIELDS = {
    HHT_TO_HUB: "zbee_zcl_se.ke.cmd.srv_rx.id",
    HUB_TO_HHT: "zbee_zcl_se.ke.cmd.srv_tx.id",
}
TUNNEL_COMMAND_FIELDS = {
    HHT_TO_HUB: "zbee_zcl_se.tun.cmd.srv_rx.id",
    HUB_TO_HHT: "zbee_zcl_se.tun.cmd.srv_tx.id",
}
#: One key establishment as the stack runs it: each request, then the hub's response.
KE_EXCHANGE = [
    (direction, command)
    for command in (
        KeCommandId.INITIATE_KEY_ESTABLISHMENT,
        KeCommandId.EPHEMERAL_DATA,
        KeCommandId.CONFIRM_KEY_DATA,
    )
    for direction in (HHT_TO_HUB, HUB_TO_HHT)
]
REQUEST_TUNNEL = (HHT_TO_HUB, command_id(GB_HRGP_REQUEST, HHT_TO_HUB))
REQUEST_TUNNEL_RESPONSE = (
    HUB_TO_HHT,
    command_id(RequestTunnelResponse(0, TunnelStatus.SUCCESS, 0), HUB_TO_HHT),
)
TRANSFER_DATA_TO_HUB = (HHT_TO_HUB, command_id(TransferData(0, b""), HHT_TO_HUB))
TRANSFER_DATA_TO_HHT = (HUB_TO_HHT, command_id(TransferData(0, b""), HUB_TO_HHT))
CLOSE_TUNNEL = (HHT_TO_HUB, command_id(CloseTunnel(0), HHT_TO_HUB))

Layers = dict[str, Any]
Matcher = Callable[[Layers], bool]


@dataclass(frozen=True)
class Recorded:
    """The capture as tshark decoded it, and what the test knows independently of it."""

    packets: list[Layers]  # tshark's layers of each frame; frame N is packets[N - 1]
    frames: int  # frames the capture holds
    keys: list[bytes]  # the stack's capture_keys()
    install_code_key: bytes  # the link key the HHT joins with
    network_key: bytes  # the hub's network key (the simulator's)
    cbke_key: bytes  # the link key the hub agreed with the HHT over APS
    hht: str  # EUI-64s, upper-case hex
    hub: str
    command: bytes  # put by the HHT
    held: bytes  # held by the hub for the HHT
    received: list[bytes]  # what the HHT's GET brought back


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    directory = tmp_path_factory.mktemp("wireshark-tunnel")
    han = SimHan.create(
        directory / "sim", seed=SEED, time_scale=FAST, clock=SimClock(FAST, start=START)
    )
    try:
        return _record(han, directory / "tunnel.pcapng")
    finally:
        han.close()


def _record(han: SimHan, path: Path) -> Recorded:
    site = han.add_site(name="1 Wireshark Street", seed=SEED)
    command = build_command(
        han,
        supplier_identity=DemoSupplier.create(),
        device_eui=site.esme_id,
        counter=COMMAND_COUNTER,
        message_code=ECS01A_SET_TARIFF,
        payload=set_tariff_payload(),
        sign=True,
    )
    held = big_response(site.esme_id, HELD_RESPONSE_PAYLOAD)
    stack = han.driver()
    assert isinstance(stack, ZigbeeStack)

    async def session() -> list[bytes]:
        link = await stack.connect(site.hub_id)
        await send_and_receive(link, command)  # the meter's answer, acknowledged
        hold_for_hht(han, site.hub_id, site.esme_id, held)
        received = await link.get()
        await link.close()
        return received

    with Capture.open(path, description="HHT to a simulated hub (test)") as capture:
        stack.record_to(capture)
        received = run(session())
        stack.record_to(None)
    endpoint = han.frames.endpoint(site.hub_id)
    assert endpoint is not None
    cbke_key = endpoint.link_key(stack.eui)
    assert cbke_key is not None and cbke_key != stack.link_key
    keys = stack.capture_keys()
    return Recorded(
        packets=decode(path, keys=keys),
        frames=capture.frames,
        keys=keys,
        install_code_key=stack.link_key,
        network_key=network_key_of(han.seed, site.hub_id),
        cbke_key=cbke_key,
        hht=str(stack.eui),
        hub=site.hub_id.upper(),
        command=command,
        held=held,
        received=received,
    )


# Reading tshark's layers ----------------------------------------------------------------


def _numbered(recorded: Recorded) -> list[tuple[int, Layers]]:
    return list(enumerate(recorded.packets, 1))


def _int(value: str) -> int:
    """A number as tshark writes it: ``0x1a01`` or ``7``."""
    return int(value, 0)


def _ints(layers: Layers, name: str) -> list[int]:
    return [_int(value) for value in field(layers, name)]


def _euis(layers: Layers, name: str) -> list[str]:
    return [eui_hex(text) for text in field(layers, name)]


def _key(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def _opened_with(layer: Layers) -> list[bytes]:
    """The keys Wireshark opened ``layer``'s security header with (none: it could not)."""
    return [_key(text) for text in field(layer, "zbee.sec.key")]


def _secured(layers: Layers, layer: str) -> bool:
    return field(layers.get(layer, {}), f"{layer}.security") == ["1"]


def _aps_type(layers: Layers) -> ApsFrameType | None:
    types = _ints(layers.get("zbee_aps", {}), "zbee_aps.type")
    return ApsFrameType(types[0]) if types else None


def _zcl_commands(layers: Layers, fields: dict[Direction, str]) -> list[tuple[Direction, int]]:
    """(direction, command id) of the ZCL command of one cluster a frame carries."""
    zcl = layers.get("zbee_zcl", {})
    return [
        (direction, _int(value)) for direction, name in fields.items() for value in field(zcl, name)
    ]


def _commands(
    recorded: Recorded, fields: dict[Direction, str], *, inter_pan: bool
) -> list[tuple[Direction, int]]:
    return [
        command
        for layers in recorded.packets
        if (_aps_type(layers) is ApsFrameType.INTER_PAN) == inter_pan
        for command in _zcl_commands(layers, fields)
    ]


def _mac_command(layers: Layers) -> int | None:
    commands = _ints(layers.get("wpan", {}), "wpan.cmd")
    return commands[0] if commands else None


def _in_order(recorded: Recorded, steps: dict[str, Matcher]) -> dict[str, int]:
    """The number of the frame each step is first seen in, each after the one before."""
    found: dict[str, int] = {}
    after = 0
    for name, matches in steps.items():
        number = next(
            (n for n, layers in _numbered(recorded) if n > after and matches(layers)), None
        )
        assert number is not None, f"no {name} after frame {after} (found so far: {found})"
        found[name] = after = number
    return found


#: The join, as the HHT and the hub make it (addresses are checked in the join test).
JOIN_STEPS: dict[str, Matcher] = {
    "Association Request": lambda p: _mac_command(p) == MacCommandId.ASSOCIATION_REQUEST,
    "Data Request": lambda p: _mac_command(p) == MacCommandId.DATA_REQUEST,
    "Association Response": lambda p: _mac_command(p) == MacCommandId.ASSOCIATION_RESPONSE,
    "Transport Key": lambda p: _ints(p, "zbee_aps.cmd.id") == [ApsCommandId.TRANSPORT_KEY],
    "Device Announce": lambda p: _ints(p, "zbee_aps.zdp_cluster") == [DEVICE_ANNOUNCE_CLUSTER],
}


# The tests ------------------------------------------------------------------------------


def test_tshark_reads_every_frame_without_a_problem(recorded: Recorded) -> None:
    assert len(recorded.packets) == recorded.frames > 0
    assert problems(recorded.packets) == []
    assert set(recorded.keys) == {
        recorded.install_code_key,
        recorded.network_key,
        recorded.cbke_key,
    }


def test_the_connection_goes_step_by_step(recorded: Recorded) -> None:
    def inter_pan(cluster: int, direction: Direction) -> Matcher:
        return lambda p: (
            _aps_type(p) is ApsFrameType.INTER_PAN
            and _ints(p, "zbee_aps.cluster") == [cluster]
            and _ints(p.get("zbee_zcl", {}), "zbee_zcl.dir") == [direction]
        )

    def tunnel(command: tuple[Direction, int]) -> Matcher:
        return lambda p: _zcl_commands(p, TUNNEL_COMMAND_FIELDS) == [command]

    hub = recorded.hub
    steps: dict[str, Matcher] = {
        "Beacon Request": lambda p: _mac_command(p) == MacCommandId.BEACON_REQUEST,
        "the hub's beacon": lambda p: _euis(p, "zbee_beacon.ext_panid") == [hub],
        "Inter-PAN key establishment": lambda p: (
            _aps_type(p) is ApsFrameType.INTER_PAN
            and _zcl_commands(p, KE_COMMAND_FIELDS) == [KE_EXCHANGE[0]]
        ),
        "registration": inter_pan(registration.REGISTRATION_CLUSTER, HHT_TO_HUB),
        "registration response": inter_pan(registration.REGISTRATION_CLUSTER, HUB_TO_HHT),
        **JOIN_STEPS,
        "key establishment over APS": lambda p: (
            _aps_type(p) is ApsFrameType.DATA
            and _zcl_commands(p, KE_COMMAND_FIELDS) == [KE_EXCHANGE[0]]
        ),
        "Request Tunnel": tunnel(REQUEST_TUNNEL),
        "Request Tunnel Response": tunnel(REQUEST_TUNNEL_RESPONSE),
        "Transfer Data to the hub": tunnel(TRANSFER_DATA_TO_HUB),
        "Transfer Data to the HHT": tunnel(TRANSFER_DATA_TO_HHT),
        "Close Tunnel": tunnel(CLOSE_TUNNEL),
    }
    _in_order(recorded, steps)


def test_key_establishment_commands_are_the_ones_the_stack_sent(recorded: Recorded) -> None:
    assert _commands(recorded, KE_COMMAND_FIELDS, inter_pan=True) == KE_EXCHANGE
    assert _commands(recorded, KE_COMMAND_FIELDS, inter_pan=False) == KE_EXCHANGE


def test_tunnel_commands_open_carry_both_ways_and_close(recorded: Recorded) -> None:
    commands = _commands(recorded, TUNNEL_COMMAND_FIELDS, inter_pan=False)
    assert commands[:2] == [REQUEST_TUNNEL, REQUEST_TUNNEL_RESPONSE]
    assert commands[-1] == CLOSE_TUNNEL
    assert set(commands[2:-1]) == {TRANSFER_DATA_TO_HUB, TRANSFER_DATA_TO_HHT}


def test_the_join_hands_over_the_network_key(recorded: Recorded) -> None:
    frames = _in_order(recorded, JOIN_STEPS)
    request, poll, response, transport, announce = (
        recorded.packets[number - 1] for number in frames.values()
    )
    for asking in (request, poll):
        assert _euis(asking["wpan"], "wpan.src64") == [recorded.hht]
    assert _ints(response, "wpan.assoc.status") == [AssociationStatus.SUCCESS]
    assert _euis(response["wpan"], "wpan.dst64") == [recorded.hht]
    (short,) = _ints(response, "wpan.asoc.addr")  # sic: Wireshark's name for the field

    aps = transport["zbee_aps"]
    assert _opened_with(aps) == [recorded.install_code_key]
    assert _ints(aps, "zbee_aps.cmd.key_type") == [KeyType.STANDARD_NETWORK_KEY]
    assert [_key(k) for k in field(aps, "zbee_aps.cmd.key")] == [recorded.network_key]
    assert _euis(aps, "zbee_aps.cmd.dst") == [recorded.hht]
    assert _ints(transport["wpan"], "wpan.dst16") == [short]

    assert _opened_with(announce["zbee_nwk"]) == [recorded.network_key]
    assert _ints(announce, "zbee_zdp.nwk_addr") == [short]
    assert _euis(announce, "zbee_zdp.ext_addr") == [recorded.hht]


def test_every_nwk_secured_frame_decrypts(recorded: Recorded) -> None:
    secured = [(n, p) for n, p in _numbered(recorded) if _secured(p, "zbee_nwk")]
    failures = [
        f"frame {n}: NWK opened with {_opened_with(p['zbee_nwk'])}, layers {list(p)}"
        for n, p in secured
        if _opened_with(p["zbee_nwk"]) != [recorded.network_key]
        or not ("zbee_aps" in p or field(p["zbee_nwk"], "zbee_nwk.cmd.id"))
    ]
    assert secured and failures == []


def test_every_aps_secured_frame_decrypts(recorded: Recorded) -> None:
    completed_in: dict[int, int] = {}  # an APS fragment's frame -> the frame reassembling it
    for number, layers in _numbered(recorded):
        for fragment in _ints(layers.get("zbee_aps", {}), "zbee_aps.fragment"):
            completed_in[fragment] = number
    seen: dict[ApsFrameType, int] = {}
    failures: list[str] = []
    for number, layers in _numbered(recorded):
        if not _secured(layers, "zbee_aps"):
            continue
        aps = layers["zbee_aps"]
        kind = ApsFrameType(_int(one(aps, "zbee_aps.type")))
        seen[kind] = seen.get(kind, 0) + 1
        if kind is ApsFrameType.ACK:
            # Wireshark checks no MIC over an empty payload (it names no key for a secured
            # acknowledgement): all it can show is that there is nothing left to decrypt
            if list(layers)[-1] != "zbee_aps":
                failures.append(f"frame {number}: APS ACK with a payload, layers {list(layers)}")
            continue
        key = recorded.install_code_key if kind is ApsFrameType.COMMAND else recorded.cbke_key
        if _opened_with(aps) != [key]:
            failures.append(f"frame {number}: APS {kind.name} opened with {_opened_with(aps)}")
        whole = recorded.packets[completed_in.get(number, number) - 1]
        if kind is ApsFrameType.DATA and "zbee_zcl" not in whole:
            failures.append(f"frame {number}: no ZCL in the APS payload, layers {list(whole)}")
        if kind is ApsFrameType.COMMAND and not field(aps, "zbee_aps.cmd.id"):
            failures.append(f"frame {number}: APS command not decoded")
    assert failures == []
    assert set(seen) == {ApsFrameType.DATA, ApsFrameType.ACK, ApsFrameType.COMMAND}


def test_gbt_blocks_reassemble_to_the_messages_hht_parse_reads(recorded: Recorded) -> None:
    assert recorded.received == [recorded.held]  # byte for byte what the hub held
    carried = [(recorded.command, HrgpType.PUT), (recorded.held, HrgpType.GET_RESPONSE)]
    assert all(len(message) > GB_HRGP_MAX_TRANSFER_SIZE for message, _ in carried)
    seen = reassembled_gbcs(recorded.packets)
    assert len(seen) == len(carried)
    for shark, (message, hrgp) in zip(seen, carried, strict=True):
        completing = recorded.packets[shark["frame"] - 1]
        assert _ints(completing, "gbcs_tunnel.command") == [hrgp]
        assert shark["blocks"] == len(tunnel_parts(message)) > 1
        assert in_hht_parse_terms(shark) == in_hht_parse_terms(describe(message))
