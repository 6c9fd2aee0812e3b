"""Messages of every payload kind built with the test suite's own keys."""

from __future__ import annotations

from webapp.gbcs.gbz import (
    EncryptedContent,
    GbzComponent,
    ZclFrame,
    build_gbz,
)
from webapp.gbcs.header import Cra, OtherInfo
from webapp.gbcs.message import build_general_signing, build_precommand, wrap_general_ciphering
from webapp.sim.pki import Identity

from .conftest import ESME, MAC_KEY, SUPPLIER, WHEN, make_header

UTRN = b"73948959061972833313"
TOKEN = b"73946144333204021731"
TOP_UP = GbzComponent(0, 0x0705, ZclFrame(0x01, 0, 0x04, b"\x00" + bytes([20]) + UTRN))
READ = GbzComponent(0, 0x0702, ZclFrame(0x00, 1, 0x00, bytes.fromhex("00001400")))
ENCRYPTED = GbzComponent(
    0,
    0x0702,
    ZclFrame(0x19, 2, 0x06),
    encrypted=EncryptedContent(0, 0, bytes.fromhex("3100000000") + b"\xee" * 30 + b"\x99" * 12),
)
DLMS_TOKEN = bytes.fromhex("D92000000000010300730000132800FF01010914") + TOKEN
DLMS_PROTECTED = bytes.fromhex(
    "DA200003E8000001"
    "0202"
    "0101020216020205"
    "0909"
    "04"
    "00000000000003E8"
    "090800DB1234567890A0"
    "090890B3D51F30010000"
    "0900"
    "0202160202020901020900"
    "0920"
    "3100000000" + "AB" * 15 + "CD" * 12 + "01"
    "0100"
)
ASN1_JOIN = bytes.fromhex("3010020101040800db123456789093020101")
ALERT_DLMS = bytes.fromhex("0F200007D300020212" + "8F36" + "090C07DF0101FF000000008000FF")


def command(identity: Identity, payload: bytes, code: int, counter: int = 1) -> bytes:
    header = make_header(Cra.COMMAND, counter, code, date_time=WHEN)
    signed = build_general_signing(header, payload, identity.private_key)
    return wrap_general_ciphering(signed, MAC_KEY, SUPPLIER)


def response(identity: Identity, payload: bytes, code: int, counter: int = 1) -> bytes:
    header = make_header(Cra.RESPONSE, counter, code, originator=ESME, recipient=SUPPLIER)
    return build_general_signing(header, payload, identity.private_key)


def all_messages(supplier: Identity, esme: Identity) -> list[bytes]:
    other = OtherInfo(0x0096, SUPPLIER, 7, supplementary_originator_counter=9)
    return [
        command(supplier, build_gbz([TOP_UP]), 0x0097),
        command(supplier, build_gbz([READ]), 0x0074),
        command(supplier, DLMS_TOKEN, 0x0007),
        command(supplier, ASN1_JOIN, 0x000D),
        response(esme, build_gbz([ENCRYPTED, READ]), 0x0074),
        response(esme, DLMS_PROTECTED, 0x0027),
        response(esme, bytes.fromhex("020100"), 0x000D),
        build_precommand(make_header(other_info=other), build_gbz([READ])),
        build_general_signing(
            make_header(Cra.ALERT, 3, 0x0067, originator=ESME, recipient=SUPPLIER),
            ALERT_DLMS,
            esme.private_key,
        ),
    ]
