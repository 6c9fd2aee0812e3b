"""DUIS reading and writing: untrusted XML refused by name, requests valid V5.4, signatures."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.duis.schema import SHARED_DUIS, needs_schema, validate
from webapp.duis import (
    DuisError,
    build_hub_install_status,
    build_local_command,
    build_return_local_command_response,
    format_request_id,
    parse_local_command,
    parse_request_id,
    safe_parse,
    sign_enveloped,
    verify_enveloped,
)
from webapp.duis.xml import MAX_XML_BYTES

RID = "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1000"
GBCS = bytes.fromhex("DF0902000000000000000003E8")


def _local(**changes: str) -> bytes:
    xml = build_local_command(RID, "8.11", "8.11", GBCS, "2026-11-24T10:00:00Z").decode()
    for old, new in changes.items():
        xml = xml.replace(old, new)
    return xml.encode()


def test_local_command_round_trip() -> None:
    local = parse_local_command(_local())
    assert local.gbcs == GBCS and local.counter == 1000
    assert (local.originator, local.target) == ("90B3D51F30010000", "00DB1234567890A0")
    assert local.service_reference_variant == "8.11" and local.response_code == "I0"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sr:Response": "sr:Request"}, "not sr:Response"),
        ({"http://www.dccinterface.co.uk/ServiceUserGateway": "urn:other"}, "not sr:Response"),
        (
            {"<sr:RequestID>": "<sr:X>", "</sr:RequestID>": "</sr:X>"},
            "no sr:Response/sr:Header/sr:RequestID",
        ),
        ({">I0<": ">E3<"}, "ResponseCode E3"),
        ({"<sr:LocalCommand>": "", "</sr:LocalCommand>": ""}, "sr:ResponseMessage/sr:LocalCommand"),
        ({base64.b64encode(GBCS).decode(): "not*base64"}, "is not base64"),
        ({":1000<": ":01000<"}, "is not originator:target:counter"),
    ],
)
def test_local_command_rejections_name_the_problem(change: dict, message: str) -> None:
    with pytest.raises(DuisError, match=message.replace("*", r"\*")):
        parse_local_command(_local(**change))


def test_duplicate_payload_is_refused() -> None:
    payload = f"<sr:GBCSPayload>{base64.b64encode(GBCS).decode()}</sr:GBCSPayload>"
    with pytest.raises(DuisError, match="appears 2 times"):
        parse_local_command(_local(**{payload: payload * 2}))


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "x"><!ENTITY b "&a;&a;">]><r>&b;</r>',
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
        b'<!DOCTYPE r SYSTEM "http://example.invalid/r.dtd"><r/>',
    ],
)
def test_entities_and_doctypes_are_refused(data: bytes) -> None:
    with pytest.raises(DuisError, match="DOCTYPE or entity"):
        safe_parse(data)


def test_size_and_syntax() -> None:
    with pytest.raises(DuisError, match="the limit is"):
        safe_parse(b"<r>" + b" " * MAX_XML_BYTES + b"</r>")
    with pytest.raises(DuisError, match="not well-formed .* line 2"):
        safe_parse(b"<r>\n<a></r>")


def test_request_ids() -> None:
    assert format_request_id("90B3D51F30010000", "00DB1234567890A0", 1000) == RID
    assert parse_request_id(RID) == ("90B3D51F30010000", "00DB1234567890A0", 1000)
    for bad in (RID + "0" * 20, RID.replace(":1000", ":0100"), RID.replace("90-B3", "9-0B3")):
        with pytest.raises(DuisError, match="RequestID"):
            parse_request_id(bad)
    assert parse_request_id(RID.replace(":1000", f":{2**64 - 1}"))[2] == 2**64 - 1
    with pytest.raises(DuisError):
        parse_request_id(RID.replace(":1000", f":{2**64}"))


def test_hub_status_checks_its_fields() -> None:
    ok = {
        "install_type": "New CHF Install",
        "chf_location": "Deep indoors",
        "aerial_install": False,
    }
    with pytest.raises(DuisError, match="CHFLocation"):
        build_hub_install_status(
            RID, "8.14.1", "00DB1234567890A2", "1", **{**ok, "chf_location": "Loft"}
        )
    with pytest.raises(DuisError, match="PremiseType"):
        build_hub_install_status(RID, "8.14.2", "00DB1234567890A2", "1", **ok)
    with pytest.raises(DuisError, match="MPxN"):
        build_hub_install_status(RID, "8.14.1", "00DB1234567890A2", "1" * 14, **ok)
    with pytest.raises(DuisError, match="8.14.1 or 8.14.2"):
        build_hub_install_status(RID, "8.14.3", "00DB1234567890A2", "1", **ok)


def _signer() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "DUIS signer")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1234)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, cert


def test_signature_round_trip_and_tampering() -> None:
    key, cert = _signer()
    body = build_return_local_command_response(RID, RID, GBCS)
    signed = sign_enveloped(body, key, cert)
    verify_enveloped(signed, key.public_key())
    with pytest.raises(DuisError, match="digest does not match"):
        verify_enveloped(
            signed.replace(b"8.13</sr:ServiceReference>", b"8.14</sr:ServiceReference>"),
            key.public_key(),
        )
    other, _ = _signer()
    with pytest.raises(DuisError, match="does not verify"):
        verify_enveloped(signed, other.public_key())
    with pytest.raises(DuisError, match="no ds:Signature"):
        verify_enveloped(body, key.public_key())
    # exclusive C14N: where namespaces are declared and attribute order do not matter
    moved = signed.replace(
        b"<sr:Body>", b'<sr:Body xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway">'
    )
    verify_enveloped(moved, key.public_key())


@needs_schema
@pytest.mark.shared
@pytest.mark.parametrize(
    "template",
    sorted(p.name for p in SHARED_DUIS.glob("templates/8.1[34]*.XML")) or ["absent"],
)
def test_the_schema_helper_accepts_the_shared_examples(template: str) -> None:
    validate((SHARED_DUIS / "templates" / template).read_bytes())


@needs_schema
@pytest.mark.shared
def test_what_the_hht_writes_is_valid_v54() -> None:
    key, cert = _signer()
    ok = {"install_type": "New CHF Install", "chf_location": "Deep indoors", "aerial_install": True}
    bodies = [
        _local(),
        build_return_local_command_response(RID, RID, GBCS),
        build_return_local_command_response(RID, None, GBCS),
        build_hub_install_status(
            RID,
            "8.14.1",
            "00DB1234567890A2",
            "1012345678901",
            **ok,
            install_datetime="2026-11-24T10:00:00Z",
            user_ref="alex",
        ),
        build_hub_install_status(
            RID,
            "8.14.2",
            "00DB1234567890A2",
            "1012345678901",
            **{**ok, "install_type": "CHF Install - no SM WAN"},
            premise_type="Terraced",
            additional_information="no signal",
        ),
    ]
    bodies.append(sign_enveloped(bodies[1], key, cert))
    for body in bodies:
        validate(body)
