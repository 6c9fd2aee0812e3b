from __future__ import annotations

import pytest

from webapp.gbcs.errors import GbcsError
from webapp.gbcs.gbt import is_gbt, parse_gbt_blocks, reassemble_gbt, split_gbt
from webapp.gbcs.header import Cra, OtherInfo
from webapp.gbcs.mac import MAC_LENGTH, compute_mac, derive_key, mac_authenticated_data
from webapp.gbcs.message import (
    build_general_signing,
    build_precommand,
    parse_message,
    parse_messages,
    response_header_for,
    verify_mac,
    wrap_general_ciphering,
)
from webapp.gbcs.signing import verify
from webapp.sim.pki import TestPki

from .conftest import ESME, MAC_KEY, SUPPLIER, WHEN, make_header

PAYLOAD = bytes.fromhex("D9200003E8000101000300001E0300FF0200")


def test_command_round_trip(supplier):
    header = make_header(Cra.COMMAND, 0x3E8, 0x00B3, date_time=WHEN)
    signed = build_general_signing(header, PAYLOAD, supplier.private_key)
    raw = wrap_general_ciphering(signed, MAC_KEY, SUPPLIER, invocation_counter=7)
    message = parse_message(raw)
    assert message.kind == "command"
    assert message.header == header
    assert message.payload == PAYLOAD
    assert raw[message.payload_offset : message.payload_offset + len(PAYLOAD)] == PAYLOAD
    assert message.signature is not None and len(message.signature) == 64
    assert message.signed_bytes == signed[1:-65]
    assert verify(supplier.public_key, message.signed_bytes, message.signature)
    assert message.mac is not None and len(message.mac) == MAC_LENGTH
    assert message.mac == raw[-MAC_LENGTH:]
    assert message.invocation_counter == 7
    assert message.security_control == 0x11
    assert message.raw == raw
    assert raw[message.general_signing_offset :][: len(signed)] == signed
    assert message.originator_hex == "90B3D51F30010000"
    assert message.recipient_hex == "00DB1234567890A0"
    assert (message.message_code, message.counter) == (0x00B3, 0x3E8)


def test_mac_wrapper_layout(supplier):
    signed = build_general_signing(make_header(), PAYLOAD, supplier.private_key)
    raw = wrap_general_ciphering(signed, MAC_KEY, SUPPLIER)
    assert raw[:7] == bytes([0xDD, 0, 0, 0, 0, 0, 0])
    content_length = 5 + len(signed) + 12
    assert raw[7:9] == bytes([0x81, content_length])
    assert raw[9:14] == bytes([0x11, 0, 0, 0, 0])
    assert raw[14 : 14 + len(signed)] == signed


def test_mac_verification(supplier):
    signed = build_general_signing(make_header(), PAYLOAD, supplier.private_key)
    raw = wrap_general_ciphering(signed, MAC_KEY, SUPPLIER, 3)
    assert verify_mac(MAC_KEY, raw)
    assert not verify_mac(bytes(16), raw)
    tampered = bytearray(raw)
    tampered[40] ^= 1
    assert not verify_mac(MAC_KEY, bytes(tampered))
    assert not verify_mac(MAC_KEY, signed)
    assert not verify_mac(MAC_KEY, b"\xdd")
    security_header = bytes([0x11, 0, 0, 0, 3])
    expected = compute_mac(MAC_KEY, SUPPLIER, 3, mac_authenticated_data(security_header, signed))
    assert raw[-12:] == expected


def test_derived_keys_agree(pki: TestPki):
    acb = pki.issue(bytes.fromhex("90B3D51F30000002"), "ka")
    device = pki.issue(ESME, "ka")
    tid = b"\x01" + (9).to_bytes(8, "big")
    one = derive_key(acb.private_key, device.public_key, SUPPLIER, tid, ESME)
    two = derive_key(device.private_key, acb.public_key, SUPPLIER, tid, ESME)
    assert one == two and len(one) == 16


@pytest.mark.parametrize("cra", [Cra.RESPONSE, Cra.ALERT])
def test_unwrapped_signed_messages(esme, cra: Cra):
    header = make_header(cra, 12, 0x0027, originator=ESME, recipient=SUPPLIER)
    raw = build_general_signing(header, PAYLOAD, esme.private_key)
    message = parse_message(raw)
    assert message.kind == cra.name.lower()
    assert message.mac is None and message.invocation_counter is None
    assert message.signature is not None
    assert message.signed_bytes == raw[1:-65]
    assert message.signature_offset == len(raw) - 65


def test_unsigned_messages():
    header = make_header(Cra.RESPONSE)
    message = parse_message(build_general_signing(header, PAYLOAD, None))
    assert message.signature is None and message.kind == "response"
    assert message.signature_offset == len(message.raw) - 1


def test_precommand_without_signature_field():
    header = make_header(Cra.COMMAND, date_time=WHEN)
    raw = build_precommand(header, PAYLOAD)
    message = parse_message(raw)
    assert message.kind == "precommand"
    assert message.signature is None and message.signature_offset is None
    assert message.header == header
    assert message.signed_bytes == raw[1:]


def test_signed_command_without_mac_is_a_command(supplier):
    raw = build_general_signing(make_header(Cra.COMMAND), PAYLOAD, supplier.private_key)
    assert parse_message(raw).kind == "command"


def test_long_payload_uses_long_lengths(supplier):
    payload = bytes(range(256)) * 5
    header = make_header(other_info=OtherInfo(0x0108, SUPPLIER, 1, certificate=bytes(200)))
    raw = wrap_general_ciphering(
        build_general_signing(header, payload, supplier.private_key), MAC_KEY, SUPPLIER
    )
    message = parse_message(raw)
    assert message.payload == payload
    assert message.header == header


def test_parse_messages_back_to_back(supplier):
    one = build_precommand(make_header(counter=1), PAYLOAD)
    two = wrap_general_ciphering(
        build_general_signing(make_header(counter=2), PAYLOAD, supplier.private_key),
        MAC_KEY,
        SUPPLIER,
    )
    three = build_general_signing(make_header(Cra.RESPONSE, 2), b"\x01", None)
    messages = parse_messages(one + two + three)
    assert [m.counter for m in messages] == [1, 2, 2]
    assert [m.kind for m in messages] == ["precommand", "command", "response"]
    assert messages[1].raw == two
    with pytest.raises(GbcsError) as info:
        parse_message(one + two)
    assert info.value.offset == len(one)


def test_response_header_for():
    command = make_header(Cra.COMMAND, 99, 0x0059, date_time=WHEN)
    response = response_header_for(command, None)
    assert response.cra is Cra.RESPONSE
    assert (response.counter, response.message_code) == (99, 0x0059)
    assert (response.originator, response.recipient) == (ESME, SUPPLIER)
    assert response.date_time is None


def _valid_messages(supplier):
    header = make_header(date_time=WHEN, other_info=OtherInfo(0x0129, SUPPLIER, 5))
    signed = build_general_signing(header, PAYLOAD, supplier.private_key)
    return [
        wrap_general_ciphering(signed, MAC_KEY, SUPPLIER),
        signed,
        build_precommand(header, PAYLOAD),
    ]


def test_every_truncation_is_a_gbcs_error(supplier):
    for raw in _valid_messages(supplier):
        for cut in range(len(raw)):
            if raw[0] == 0xDF and cut in (len(raw) - 65, len(raw) - 1):
                continue  # a DF message may legitimately end after its payload
            with pytest.raises(GbcsError) as info:
                parse_message(raw[:cut])
            assert 0 <= info.value.offset <= len(raw)


def test_garbage_is_a_gbcs_error():
    for raw in [b"", b"\x00", b"\xdd\x00\x01", b"\xdf\x09", bytes([0xDD, 0, 0, 0, 0, 0, 1])]:
        with pytest.raises(GbcsError):
            parse_message(raw)


def test_bad_signature_length(supplier):
    raw = bytearray(build_general_signing(make_header(), PAYLOAD, supplier.private_key))
    raw[-65] = 0x20
    with pytest.raises(GbcsError) as info:
        parse_message(bytes(raw))
    assert info.value.offset == len(raw) - 65
    assert "signature length" in info.value.expected


def test_gbt_round_trip(supplier):
    header = make_header(Cra.COMMAND, 77, 0x0108)
    big = wrap_general_ciphering(
        build_general_signing(header, bytes(4000), supplier.private_key), MAC_KEY, SUPPLIER
    )
    blocks = split_gbt(big)
    assert len(blocks) == 3 and all(len(block) <= 1500 for block in blocks)
    stream = b"".join(blocks)
    assert is_gbt(stream) and not is_gbt(big)
    assert [b.number for b in parse_gbt_blocks(stream)] == [1, 2, 3]
    assert [b.last for b in parse_gbt_blocks(stream)] == [False, False, True]
    assert reassemble_gbt(stream) == big
    message = parse_message(stream)
    assert message.reassembled_from_gbt
    assert message.header == header and message.payload == bytes(4000)
    with pytest.raises(GbcsError):
        parse_message(blocks[0] + blocks[2])
    with pytest.raises(GbcsError):
        parse_message(blocks[1] + blocks[0] + blocks[2])
    with pytest.raises(GbcsError):
        parse_message(blocks[0] + blocks[1])
