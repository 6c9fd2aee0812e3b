"""Wireshark is the independent judge: the frames of a join, built with the HHT's codecs
and security, must decode in tshark with no expert warning, and decrypt to what was put
in.  The network key is not given to tshark: it must take it from the Transport Key, which
checks the key's byte order in that command as well as both hashes and nonces."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tshark import key_preferences, needs_tshark, run_tshark
from webapp.zigbee.capture import Capture
from webapp.zigbee.frames.aps import ApsFrameType, ApsHeader
from webapp.zigbee.frames.aps_commands import TransportNetworkKey, command_header
from webapp.zigbee.frames.mac import (
    AssociationRequest,
    AssociationResponse,
    CapabilityInfo,
    DataRequest,
    add_fcs,
    beacon_request,
    data_frame,
)
from webapp.zigbee.frames.nwk import NwkHeader
from webapp.zigbee.frames.zcl import ZclFrame, ZclFrameType, ZclHeader
from webapp.zigbee.frames.zdo import BROADCAST_RX_ON_WHEN_IDLE, DeviceAnnounce
from webapp.zigbee.security.aps import secure_aps
from webapp.zigbee.security.header import KeyId
from webapp.zigbee.security.nwk import secure_nwk
from webapp.zigbee.types import EUI64

FIRST_SECOND = 1_700_000_000
CHANNEL = 15

TC = EUI64.from_hex("00124B00AABBCCDD")
DEVICE = EUI64.from_hex("00124B0001C0FFEE")
PAN = 0x1A2B
SHORT = 0x4F21
NWK_KEY = bytes.fromhex("01030507090B0D0F00020406080A0C0D")
TC_LINK_KEY = b"ZigBeeAlliance09"  # protects the Transport Key (hashed: key-transport key)
APP_LINK_KEY = bytes.fromhex("C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF")
CAPABILITY = CapabilityInfo()  # a sleepy end device asking for an address
METERING = 0x0702
SMART_ENERGY = 0x0109
READ_ATTRIBUTES = 0x00
ATTRIBUTES = (0x0000, 0x0001)

pytestmark = needs_tshark


def join_frames() -> list[bytes]:
    """MAC frames with FCS: scan, associate, receive the network key, announce, talk."""
    frames = [
        add_fcs(beacon_request(1)),
        AssociationRequest(2, PAN, 0x0000, DEVICE, CAPABILITY).to_bytes(fcs=True),
        DataRequest(3, PAN, 0x0000, DEVICE).to_bytes(fcs=True),
        AssociationResponse(10, PAN, TC, DEVICE, SHORT).to_bytes(fcs=True),
    ]
    # Transport Key: NWK unsecured; APS secured with the key-transport key, TC's nonce.
    transport = secure_aps(
        command_header(1),
        TransportNetworkKey(NWK_KEY, 0, DEVICE, TC).to_bytes(),
        key=TC_LINK_KEY,
        key_id=KeyId.KEY_TRANSPORT,
        frame_counter=0,
        source=TC,
        extended_nonce=True,
    )
    nwk = NwkHeader(dst=SHORT, src=0x0000, radius=1, seq=1).to_bytes() + transport
    frames.append(data_frame(11, pan=PAN, dst=SHORT, src=0x0000, payload=nwk).to_bytes(True))
    # Device Announce: NWK secured with the network key.
    announce = DeviceAnnounce(0x81, SHORT, DEVICE, CAPABILITY)
    aps = announce.aps_header(0x20).to_bytes() + announce.to_bytes()
    nwk = secure_nwk(
        NwkHeader(dst=BROADCAST_RX_ON_WHEN_IDLE, src=SHORT, radius=30, seq=0x40),
        aps,
        key=NWK_KEY,
        key_seq=0,
        frame_counter=1,
        source=DEVICE,
    )
    frames.append(data_frame(4, pan=PAN, dst=0xFFFF, src=SHORT, payload=nwk).to_bytes(True))
    # ZCL Read Attributes: NWK and APS secured; APS without the extended nonce, so
    # Wireshark must take the source from the NWK auxiliary header.
    fields = b"".join(a.to_bytes(2, "little") for a in ATTRIBUTES)
    zcl = ZclFrame(ZclHeader(READ_ATTRIBUTES, 5, ZclFrameType.GLOBAL), fields).to_bytes()
    header = ApsHeader(
        ApsFrameType.DATA,
        0x21,
        dst_endpoint=1,
        cluster_id=METERING,
        profile_id=SMART_ENERGY,
        src_endpoint=1,
    )
    aps = secure_aps(
        header,
        zcl,
        key=APP_LINK_KEY,
        key_id=KeyId.DATA,
        frame_counter=7,
        source=DEVICE,
        extended_nonce=False,
    )
    nwk = secure_nwk(
        NwkHeader(dst=0x0000, src=SHORT, radius=30, seq=0x41, discover_route=1),
        aps,
        key=NWK_KEY,
        key_seq=0,
        frame_counter=2,
        source=DEVICE,
    )
    frames.append(data_frame(5, pan=PAN, dst=0x0000, src=SHORT, payload=nwk).to_bytes(True))
    return frames


def write_capture(path: Path, frames: list[bytes]) -> None:
    with Capture.open(path, description="a join, built with the HHT's codecs") as capture:
        for number, frame in enumerate(frames):
            capture.record(frame, at=FIRST_SECOND + number, channel=CHANNEL, fcs=True)


def tshark(pcap: Path, keys: dict[str, bytes], *args: str) -> str:
    return run_tshark(["-n", "-r", str(pcap), *key_preferences(keys), *args])


FIELDS = (
    "frame.number",
    "wpan.fcs_ok",
    "wpan.cmd",
    "wpan.cinfo.alloc_addr",
    "wpan.asoc.addr",
    "wpan.assoc.status",
    "zbee.sec.key.origin",
    "zbee.sec.decryption_key",
    "zbee_aps.cmd.key",
    "zbee_aps.cmd.seqno",
    "zbee_aps.cmd.dst",
    "zbee_aps.cmd.src",
    "zbee_zdp.nwk_addr",
    "zbee_zdp.ext_addr",
    "zbee_zdp.cinfo",
    "zbee_zcl.cmd.id",
    "zbee_zcl_se.met.attr_id",  # the Metering cluster's attribute ids
    "_ws.malformed",
)
KEYS = {"tc-link": TC_LINK_KEY, "app-link": APP_LINK_KEY}


def _fields(tmp_path: Path, pcap: Path) -> list[dict[str, str]]:
    args = ["-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for field in FIELDS:
        args += ["-e", field]
    out = tshark(pcap, KEYS, *args)
    return [dict(zip(FIELDS, line.split("\t"), strict=True)) for line in out.splitlines()]


def _eui(text: str) -> EUI64:
    return EUI64.from_hex(text.replace(":", ""))


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp_path = tmp_path_factory.mktemp("wireshark")
    pcap = tmp_path / "join.pcapng"
    write_capture(pcap, join_frames())
    return tmp_path, pcap


def test_no_expert_warnings_or_malformed_frames(capture: tuple[Path, Path]) -> None:
    tmp_path, pcap = capture
    report = tshark(pcap, KEYS, "-q", "-z", "expert,warn")
    assert "Warns" not in report and "Errors" not in report, report


def test_the_check_sees_what_it_cannot_decrypt(capture: tuple[Path, Path]) -> None:
    """Control: without the application link key the last APS payload stays encrypted."""
    tmp_path, pcap = capture
    report = tshark(pcap, {"tc-link": TC_LINK_KEY}, "-q", "-z", "expert,warn")
    assert "Encrypted Payload" in report, report


def test_every_field_decodes_as_built(capture: tuple[Path, Path]) -> None:
    tmp_path, pcap = capture
    rows = _fields(tmp_path, pcap)
    assert len(rows) == 7
    assert all(row["wpan.fcs_ok"] == "1" and not row["_ws.malformed"] for row in rows)
    beacon, assoc_req, data_req, assoc_resp, transport, announce, zcl = rows

    assert [int(r["wpan.cmd"], 16) for r in rows[:4]] == [0x07, 0x01, 0x04, 0x02]
    assert assoc_req["wpan.cinfo.alloc_addr"] == "1"
    assert int(assoc_resp["wpan.asoc.addr"], 16) == SHORT
    assert int(assoc_resp["wpan.assoc.status"], 16) == 0

    assert transport["zbee.sec.decryption_key"] == "tc-link"  # via the key-transport key
    assert bytes.fromhex(transport["zbee_aps.cmd.key"]) == NWK_KEY
    assert transport["zbee_aps.cmd.seqno"] == "0"
    assert _eui(transport["zbee_aps.cmd.dst"]) == DEVICE
    assert _eui(transport["zbee_aps.cmd.src"]) == TC

    # The network key was learnt from frame 5, the Transport Key.
    assert announce["zbee.sec.key.origin"] == "5"
    assert int(announce["zbee_zdp.nwk_addr"], 16) == SHORT
    assert _eui(announce["zbee_zdp.ext_addr"]) == DEVICE
    assert int(announce["zbee_zdp.cinfo"], 16) == CAPABILITY.to_int()

    assert zcl["zbee.sec.key.origin"] == "5"
    assert zcl["zbee.sec.decryption_key"] == "app-link"
    assert int(zcl["zbee_zcl.cmd.id"], 16) == READ_ATTRIBUTES
    attributes = tuple(int(a, 16) for a in zcl["zbee_zcl_se.met.attr_id"].split(","))
    assert attributes == ATTRIBUTES
