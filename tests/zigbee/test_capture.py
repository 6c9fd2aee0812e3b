"""Captures: pcapng with the 802.15.4 TAP header, read back here and opened with tshark."""

from __future__ import annotations

import os
import stat
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from tests.tshark import TsharkError, decode, expert_problems, field, needs_tshark, problems
from webapp.zigbee import capture as capture_module
from webapp.zigbee.capture import (
    LINKTYPE_IEEE802_15_4_TAP,
    PAGE_GB_868_MHZ,
    RECONSTRUCTED_COMMENT,
    Capture,
    CaptureError,
    CaptureFormatError,
    inspect_capture,
    page_for_band,
    read_capture,
    write_keys_file,
)
from webapp.zigbee.drivers.base import BAND_2_4_GHZ, BAND_868_MHZ
from webapp.zigbee.frames.interpan import InterPanFrame
from webapp.zigbee.frames.key_establishment import InitiateKeyEstablishment, encode_ke
from webapp.zigbee.frames.mac import (
    BeaconFrame,
    SuperframeSpec,
    ZigbeeBeaconPayload,
    add_fcs,
    beacon_request,
)
from webapp.zigbee.frames.zcl import Direction
from webapp.zigbee.types import EUI64

HUB = EUI64.from_hex("00124B00AABBCCDD")
HHT = EUI64.from_hex("00124B0001C0FFEE")
T0 = 1_780_000_000.123456
DESCRIPTION = "job 42: commissioning the hub at 1 Test Street"
NETWORK_KEY = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
HUB_PAN = 0x1A2B
HHT_SHORT, HUB_SHORT = 0x1234, 0x0000


def beacon() -> bytes:
    return BeaconFrame(
        seq=5,
        src_pan=HUB_PAN,
        src=HUB_SHORT,
        superframe=SuperframeSpec(pan_coordinator=True, association_permit=True),
        payload=ZigbeeBeaconPayload(extended_pan_id=HUB),
    ).to_bytes()


def interpan() -> bytes:
    initiate = InitiateKeyEstablishment(1, 2, 3, identity=bytes(range(48)))
    return InterPanFrame(
        seq=9,
        dst_pan=HUB_PAN,
        dst=HUB,
        src_pan=0xFFFF,
        src=HHT,
        cluster_id=0x0800,
        payload=encode_ke(initiate, Direction.CLIENT_TO_SERVER, 7),
    ).to_bytes()


# (frame, keyword arguments of Capture.record)
FRAMES: list[tuple[bytes, dict]] = [
    (beacon_request(1), {"at": T0, "channel": 15}),
    (beacon(), {"at": T0 + 0.0125, "channel": 15, "rssi": -61.5, "direction": "in"}),
    (
        interpan(),
        {
            "at": T0 + 1.5,
            "channel": 3,
            "page": PAGE_GB_868_MHZ,
            "rssi": -80.25,
            "direction": "in",
            "comment": RECONSTRUCTED_COMMENT,
        },
    ),
]


def write_frames(path: Path, frames: list[tuple[bytes, dict]] = FRAMES) -> Path:
    with Capture.open(path, description=DESCRIPTION) as capture:
        for frame, options in frames:
            capture.record(frame, **options)
    return path


@pytest.fixture
def capture_file(tmp_path: Path) -> Path:
    return write_frames(tmp_path / "job-42.pcapng")


def secured_nwk_frame(key: bytes, counter: int = 1) -> bytes:
    """A MAC data frame carrying a NWK frame secured with network key ``key``
    (level 5, ENC-MIC-32, extended nonce), around an APS frame with a ZCL report."""
    nwk_header = struct.pack("<HHHBB", 0x0208, HUB_SHORT, HHT_SHORT, 30, 7)  # data, v2, secured
    control_on_air = 0x28  # network key, extended nonce; level 0 as sent
    control = control_on_air | 5
    auxiliary = struct.pack("<I", counter) + HHT.le + b"\x00"  # counter, source, key seq
    aps = bytes([0x00, 0x01]) + struct.pack("<HH", 0x0402, 0x0104) + bytes([0x01, 0x05])
    zcl = bytes([0x18, 0x01, 0x0A, 0x00, 0x00, 0x29, 0x34, 0x08])
    nonce = HHT.le + struct.pack("<I", counter) + bytes([control])
    sealed = AESCCM(key, tag_length=4).encrypt(
        nonce, aps + zcl, nwk_header + bytes([control]) + auxiliary
    )
    mac_header = struct.pack("<HBHHH", 0x8841, 3, HUB_PAN, HUB_SHORT, HHT_SHORT)
    return mac_header + nwk_header + bytes([control_on_air]) + auxiliary + sealed


# Reading back --------------------------------------------------------------------------


def test_reads_back_what_was_recorded(capture_file: Path) -> None:
    contents = inspect_capture(capture_file)
    assert contents.description == DESCRIPTION
    assert "HHT" in (contents.application or "")
    assert not contents.truncated
    assert len(contents.frames) == len(FRAMES)
    for got, (frame, options) in zip(contents.frames, FRAMES, strict=True):
        assert got.frame == frame
        assert got.psdu == add_fcs(frame)
        assert got.fcs_ok
        assert got.at == pytest.approx(options["at"], abs=1e-6)
        assert got.channel == options["channel"]
        assert got.page == options.get("page", 0)
        assert got.rssi == options.get("rssi")
        assert got.direction == options.get("direction", "out")
        assert got.comment == options.get("comment")


def test_capture_is_owner_only_and_never_replaced(capture_file: Path) -> None:
    assert stat.S_IMODE(capture_file.stat().st_mode) == 0o600
    before = capture_file.read_bytes()
    with pytest.raises(CaptureError, match="cannot create capture file"):
        Capture.open(capture_file, description="again")
    assert capture_file.read_bytes() == before


def test_a_frame_with_its_own_fcs_is_kept_as_it_came(tmp_path: Path) -> None:
    damaged = add_fcs(beacon_request(2))[:-1] + b"\x00"
    path = tmp_path / "fcs.pcapng"
    with Capture.open(path, description="fcs") as capture:
        capture.record(add_fcs(beacon_request(1)), at=T0, channel=11, fcs=True)
        capture.record(damaged, at=T0, channel=11, fcs=True, direction="in")
    good, bad = read_capture(path)
    assert good.fcs_ok and good.frame == beacon_request(1)
    assert not bad.fcs_ok and bad.psdu == damaged


def test_every_cut_reads_up_to_the_last_whole_block(capture_file: Path, tmp_path: Path) -> None:
    data = capture_file.read_bytes()
    whole = inspect_capture(capture_file).frames
    block_ends = _block_ends(data)  # after SHB, IDB, then each EPB
    cut = tmp_path / "cut.pcapng"
    for size in range(block_ends[0], len(data)):
        cut.write_bytes(data[:size])
        contents = inspect_capture(cut)
        complete_packets = sum(1 for end in block_ends[2:] if end <= size)
        assert contents.frames == whole[:complete_packets], size
        assert contents.truncated == (size not in block_ends), size


def test_zeros_after_the_last_block_read_as_a_cut(capture_file: Path) -> None:
    with capture_file.open("ab") as handle:
        handle.write(bytes(512))  # what a power cut can leave after delayed allocation
    contents = inspect_capture(capture_file)
    assert len(contents.frames) == len(FRAMES) and contents.truncated


def _block_ends(data: bytes) -> list[int]:
    ends, offset = [], 0
    while offset < len(data):
        offset += struct.unpack_from("<I", data, offset + 4)[0]
        ends.append(offset)
    return ends


# With tshark ---------------------------------------------------------------------------


@needs_tshark
def test_tshark_shows_the_tap_header_fcs_comments_and_direction(capture_file: Path) -> None:
    packets = decode(capture_file)
    assert problems(packets) == []
    assert len(packets) == len(FRAMES)
    for layers, (frame, options) in zip(packets, FRAMES, strict=True):
        assert layers["frame"]["frame.time_epoch"] == f"{options['at']:.6f}000"
        assert field(layers, "wpan-tap.fcs_type") == ["1"]  # ITU-T CRC16
        assert field(layers, "wpan-tap.ch_num") == [str(options["channel"])]
        assert field(layers, "wpan-tap.ch_page") == [str(options.get("page", 0))]
        rssi = options.get("rssi")
        assert field(layers, "wpan-tap.rss") == ([] if rssi is None else [str(rssi)])
        assert field(layers, "wpan-tap.data_length") == [str(len(frame) + 2)]
        assert field(layers, "wpan.fcs_ok") == ["1"]
        assert field(layers, "wpan.fcs") == [
            f"0x{int.from_bytes(add_fcs(frame)[-2:], 'little'):04x}"
        ]
        direction = {"out": 2, "in": 1}[options.get("direction", "out")]
        assert field(layers, "frame.packet_flags_direction") == [f"0x{direction:08x}"]
        comment = options.get("comment")
        assert field(layers, "frame.comment") == ([] if comment is None else [comment])
    request, beacon_layers, interpan_layers = packets
    assert field(request, "wpan.cmd") == ["0x07"]  # Beacon Request
    assert field(beacon_layers, "zbee_beacon.ext_panid") == ["00:12:4b:00:aa:bb:cc:dd"]
    assert "zbee_zcl_se.ke" in interpan_layers["frame"]["frame.protocols"]
    assert field(interpan_layers, "zbee_aps.cluster") == ["0x0800"]
    interface = packets[0]["frame"]["frame.interface_id_tree"]
    assert interface["frame.interface_description"] == DESCRIPTION
    data = capture_file.read_bytes()
    idb = _block_ends(data)[0]
    assert struct.unpack_from("<I", data, idb)[0] == 1  # the interface description block
    assert struct.unpack_from("<H", data, idb + 8)[0] == LINKTYPE_IEEE802_15_4_TAP == 283


@needs_tshark
def test_tshark_reads_a_cut_file_up_to_the_last_whole_block(
    capture_file: Path, tmp_path: Path
) -> None:
    data = capture_file.read_bytes()
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(data[: _block_ends(data)[-2] + 10])  # ten octets into the last packet
    with pytest.raises(TsharkError, match="cut short in the middle of a packet"):
        decode(cut)
    packets = decode(cut, allow_truncated=True)
    assert len(packets) == len(read_capture(cut)) == len(FRAMES) - 1
    assert problems(packets) == []


@needs_tshark
def test_tshark_flags_a_bad_fcs(tmp_path: Path) -> None:
    path = tmp_path / "bad-fcs.pcapng"
    with Capture.open(path, description="bad fcs") as capture:
        capture.record(add_fcs(beacon_request(1))[:-1] + b"\x00", at=T0, channel=11, fcs=True)
    assert any("FCS" in problem for problem in expert_problems(path))


@needs_tshark
def test_tshark_decrypts_with_the_keys_file(tmp_path: Path) -> None:
    path = tmp_path / "secured.pcapng"
    with Capture.open(path, description="secured") as capture:
        capture.record(secured_nwk_frame(NETWORK_KEY), at=T0, channel=11, direction="in")
    keys_file = tmp_path / "keys.txt"
    write_keys_file(keys_file, [NETWORK_KEY, NETWORK_KEY])
    keys = [bytes.fromhex(line) for line in keys_file.read_text().splitlines()]

    (sealed,) = decode(path)
    assert "zbee_zcl" not in sealed["frame"]["frame.protocols"]
    (opened,) = decode(path, keys=keys)
    assert "zbee_zcl" in opened["frame"]["frame.protocols"]
    assert field(opened, "zbee_aps.cluster") == ["0x0402"]
    assert problems([opened]) == []


# Keys file -----------------------------------------------------------------------------


def test_keys_file_is_owner_only_upper_case_hex_one_a_line(tmp_path: Path) -> None:
    other = bytes(range(0xA0, 0xB0))
    path = tmp_path / "keys.txt"
    write_keys_file(path, iter([NETWORK_KEY, other, NETWORK_KEY]))
    assert path.read_text() == (
        "000102030405060708090A0B0C0D0E0F\nA0A1A2A3A4A5A6A7A8A9AAABACADAEAF\n"
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_keys_file_refuses_a_key_of_the_wrong_size(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="16 octets, not 15"):
        write_keys_file(tmp_path / "keys.txt", [bytes(15)])
    assert not (tmp_path / "keys.txt").exists()


# Refusals ------------------------------------------------------------------------------


def test_refuses_a_frame_over_the_psdu_limit(tmp_path: Path) -> None:
    with Capture.open(tmp_path / "big.pcapng", description="big") as capture:
        capture.record(bytes(125), at=T0, channel=11)  # 127 octets with the FCS: fits
        with pytest.raises(ValueError, match="frame of 128 octets"):
            capture.record(bytes(126), at=T0, channel=11)
        with pytest.raises(ValueError, match="frame of 128 octets"):
            capture.record(bytes(128), at=T0, channel=11, fcs=True)
    assert len(read_capture(tmp_path / "big.pcapng")) == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"direction": "sideways"}, "direction must be 'in' or 'out'"),
        ({"page": 256}, "channel page 256"),
        ({"channel": -1}, "channel -1"),
        ({"at": float("nan")}, "Unix time"),
        ({"at": 2e13}, "Unix time"),
        ({"rssi": float("inf")}, "RSS"),
    ],
)
def test_refuses_bad_record_arguments(tmp_path: Path, options: dict, message: str) -> None:
    with Capture.open(tmp_path / "bad.pcapng", description="bad") as capture:
        with pytest.raises(ValueError, match=message):
            capture.record(beacon_request(1), **{"at": T0, "channel": 11, **options})
        with pytest.raises(ValueError, match="holds no MAC frame"):
            capture.record(b"", at=T0, channel=11)
    assert read_capture(tmp_path / "bad.pcapng") == []


def test_refuses_a_bad_path(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="cannot create capture file .*No such file"):
        Capture.open(tmp_path / "missing" / "x.pcapng", description="x")
    with pytest.raises(CaptureError, match="cannot create capture file"):
        Capture.open(tmp_path, description="a directory")


def test_refuses_to_record_once_closed(tmp_path: Path) -> None:
    capture = Capture.open(tmp_path / "closed.pcapng", description="closed")
    capture.close()
    capture.close()  # twice is harmless
    assert capture.closed
    with pytest.raises(CaptureError, match="is closed"):
        capture.record(beacon_request(1), at=T0, channel=11)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a pcapng file"),
        (b"hello, this is not a capture at all", "not a pcapng file"),
        (b"\xd4\xc3\xb2\xa1" + bytes(20), "classic pcap"),
        (b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x1a\x2b\x3c\x4d" + bytes(16), "big-endian"),
    ],
)
def test_reader_refuses_other_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "other"
    path.write_bytes(content)
    with pytest.raises(CaptureFormatError, match=message):
        read_capture(path)


def test_reader_refuses_another_link_type(capture_file: Path) -> None:
    data = bytearray(capture_file.read_bytes())
    idb = _block_ends(bytes(data))[0]
    data[idb + 8 : idb + 10] = (195).to_bytes(2, "little")  # IEEE802_15_4_WITHFCS
    capture_file.write_bytes(bytes(data))
    with pytest.raises(CaptureFormatError, match="link type 195"):
        read_capture(capture_file)


def test_reader_refuses_a_corrupt_block(capture_file: Path) -> None:
    data = bytearray(capture_file.read_bytes())
    data[-4:] = b"\x01\x02\x03\x04"  # the last block's trailing length
    capture_file.write_bytes(bytes(data))
    with pytest.raises(CaptureFormatError, match="mismatched lengths"):
        read_capture(capture_file)


def test_band_pages() -> None:
    assert page_for_band(BAND_2_4_GHZ) == 0
    assert page_for_band(BAND_868_MHZ) == PAGE_GB_868_MHZ == 28
    with pytest.raises(ValueError, match="no channel page"):
        page_for_band("5GHz")


def test_a_failed_write_leaves_the_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write

    def half_then_full(fd: int, data: bytes) -> int:
        real_write(fd, data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    path = tmp_path / "full.pcapng"
    with Capture.open(path, description="disk full") as capture:
        capture.record(beacon_request(1), at=T0, channel=11)
        monkeypatch.setattr(capture_module.os, "write", half_then_full)
        with pytest.raises(CaptureError, match="No space left"):
            capture.record(beacon(), at=T0, channel=11)
        monkeypatch.setattr(capture_module.os, "write", real_write)
        capture.record(beacon_request(2), at=T0, channel=11)
        assert capture.frames == 2
    contents = inspect_capture(path)
    assert [f.frame for f in contents.frames] == [beacon_request(1), beacon_request(2)]
    assert not contents.truncated
