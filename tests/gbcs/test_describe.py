from __future__ import annotations

import base64
import json

import pytest

from webapp.gbcs.describe import describe, parse_input, render_text
from webapp.gbcs.errors import GbcsError
from webapp.gbcs.gbt import split_gbt
from webapp.gbcs.gbz import build_gbz
from webapp.gbcs.message import parse_message

from .vectors import (
    ASN1_JOIN,
    DLMS_PROTECTED,
    DLMS_TOKEN,
    ENCRYPTED,
    READ,
    TOKEN,
    TOP_UP,
    UTRN,
    all_messages,
    command,
    response,
)


def _walk(nodes):
    for node in nodes:
        yield node
        yield from _walk(node["children"])


def _names(described):
    return [node["name"] for node in _walk(described["tree"])]


def test_gbz_command_with_utrn_withheld(supplier, store):
    raw = command(supplier, build_gbz([TOP_UP]), 0x0097, counter=42)
    d = describe(raw, store)
    assert d["kind"] == "command"
    assert d["message_code"] == "0x0097"
    assert d["use_case"] == "CS01b"
    assert d["use_case_name"].startswith("Apply Prepayment Top Up")
    assert (d["originator"], d["recipient"]) == ("90B3D51F30010000", "00DB1234567890A0")
    assert d["counter"] == 42
    assert d["date_time"] == "2024-05-17T09:30:15+00:00"
    assert d["signature"] == "valid"
    assert d["mac"] == "present-not-verifiable"
    assert d["payload_kind"] == "gbz"
    assert d["encrypted"] is False
    assert d["outcome"] is None
    [withheld] = d["withheld"]
    assert withheld["length"] == 21
    assert raw[withheld["offset"] + 1 : withheld["offset"] + 21] == UTRN
    text = json.dumps(d)
    assert UTRN.decode() not in text and UTRN.hex().upper() not in text
    assert "Consumer Top Up" in text


def test_offsets_are_absolute(supplier, store):
    raw = command(supplier, build_gbz([READ]), 0x0074)
    d = describe(raw, store)
    message = parse_message(raw)
    payload = next(n for n in d["tree"] if n["name"] == "Payload")
    assert payload["offset"] == message.payload_offset
    assert payload["length"] == len(message.payload)
    for node in _walk(d["tree"]):
        assert node["offset"] >= 0 and node["offset"] + node["length"] <= len(raw), node
    attribute = [n for n in _walk(d["tree"]) if n["name"] == "Attribute Id"]
    assert attribute[0]["value"] == "0x0000 Current Summation Delivered"
    assert attribute[1]["value"] == "0x0014 Supply Status"
    assert raw[attribute[1]["offset"] : attribute[1]["offset"] + 2] == b"\x14\x00"


def test_encrypted_component_withheld(esme, store):
    raw = response(esme, build_gbz([ENCRYPTED, READ]), 0x0074)
    d = describe(raw, store)
    assert d["encrypted"] is True
    assert d["signature"] == "valid" and d["mac"] == "absent"
    [withheld] = d["withheld"]
    assert withheld["length"] == len(ENCRYPTED.encrypted.ciphered)
    assert raw[withheld["offset"] : withheld["offset"] + withheld["length"]] == (
        ENCRYPTED.encrypted.ciphered
    )
    assert "EEEEEEEE" not in json.dumps(d)
    assert d["outcome"]["status"] == "success"


def test_dlms_protected_attributes_withheld(esme, store):
    d = describe(response(esme, DLMS_PROTECTED, 0x0027), store)
    assert d["payload_kind"] == "dlms" and d["encrypted"] is True
    assert [w["name"] for w in d["withheld"]] == ["Protected Attributes (ciphered)"]
    assert "ABABABAB" not in json.dumps(d)
    assert d["outcome"] == {"status": "success", "reason": None}


def test_dlms_token_withheld(supplier, store):
    d = describe(command(supplier, DLMS_TOKEN, 0x0007), store)
    assert d["use_case"] == "CS01a"
    assert len(d["withheld"]) == 1 and d["withheld"][0]["length"] == 22
    assert TOKEN.decode() not in json.dumps(d)
    text = json.dumps(d)
    assert "Token Gateway" in text and "enter" in text


def test_asn1_named(supplier, store):
    d = describe(command(supplier, ASN1_JOIN, 0x000D), store)
    assert d["payload_kind"] == "asn1"
    names = _names(d)
    assert "Join Device Command" in names and "Entity Id" in names


def test_signature_states(esme, stranger, store):
    payload = build_gbz([READ])
    assert describe(response(esme, payload, 0x74), store)["signature"] == "valid"
    assert describe(response(esme, payload, 0x74), None)["signature"] == "signer-unknown"
    assert describe(response(stranger, payload, 0x74), store)["signature"] == "invalid"


def test_every_vector_describes(supplier, esme, store):
    for raw in all_messages(supplier, esme):
        d = describe(raw, store)
        json.dumps(d)
        text = render_text(d)
        assert d["message_code"] in text
        for node in _walk(d["tree"]):
            assert node["offset"] + node["length"] <= len(raw)


def test_alert(esme, store):
    d = describe(all_messages(esme, esme)[-1], store)
    assert d["kind"] == "alert" and d["payload_kind"] == "alert"
    assert d["alert_code"] == "0x8F36"
    assert d["outcome"]["status"] == "unknown"


def test_undecodable_payload_does_not_fail(esme, store):
    d = describe(response(esme, b"\x01\x09\x03\x00", 0x0074), store)
    payload = next(n for n in d["tree"] if n["name"] == "Payload")
    assert "not decoded" in payload["value"]
    assert d["outcome"]["status"] == "unknown"


def test_gbt_input(supplier, store):
    raw = command(supplier, build_gbz([READ] * 200), 0x0074)
    stream = b"".join(split_gbt(raw, 500))
    d = describe(stream, store)
    assert d["gbt"] is True and d["length"] == len(raw)
    assert d["signature"] == "valid"


def test_envelope_errors_raise(supplier):
    raw = command(supplier, build_gbz([READ]), 0x0074)
    with pytest.raises(GbcsError):
        describe(raw[:-1])


def test_render_text(supplier, store):
    text = render_text(describe(command(supplier, build_gbz([TOP_UP]), 0x0097), store))
    assert text.startswith("Command 0x0097 CS01b")
    assert "withheld Top Up Code (UTRN) (21 bytes at" in text
    assert "Top Up Code (UTRN): withheld (21 bytes)" in text


def test_parse_input(tmp_path, supplier):
    raw = command(supplier, build_gbz([READ]), 0x0074)
    hex_text = raw.hex().upper()
    spaced = " ".join(hex_text[i : i + 2] for i in range(0, len(hex_text), 2))
    b64 = base64.b64encode(raw).decode()
    assert parse_input(hex_text) == raw
    assert parse_input(spaced + "\n") == raw
    assert parse_input(b64) == raw
    (tmp_path / "m.hex").write_text(hex_text[:40] + "\n" + hex_text[40:] + "\n")
    (tmp_path / "m.b64").write_text(b64[:30] + "\n" + b64[30:])
    (tmp_path / "m.bin").write_bytes(raw)
    assert parse_input(tmp_path / "m.hex") == raw
    assert parse_input(str(tmp_path / "m.b64")) == raw
    assert parse_input(tmp_path / "m.bin") == raw
    assert parse_input(raw) == raw
    with pytest.raises(GbcsError):
        parse_input("not a message!")
