"""Responses: signed by the device, correlated to their command, plausible contents."""

from __future__ import annotations

from cryptography import x509

from tests.sim.conftest import connect, default_response_status, run, send_and_receive
from webapp.gbcs import dlms_build as dlms
from webapp.gbcs.dlms import parse_dlms
from webapp.gbcs.gbz import parse_gbz
from webapp.gbcs.header import Cra
from webapp.gbcs.message import parse_message, verify_mac
from webapp.gbcs.outcome import FAILURE, SUCCESS, response_outcome
from webapp.gbcs.signing import CertificateStore, SignatureState, verify_message
from webapp.gbcs.zcl_ids import CLUSTER_METERING, CMD_DEFAULT_RESPONSE, CMD_READ_ATTRIBUTES_RESPONSE
from webapp.gbcs.zcl_status import STATUS_DUPLICATE_EXISTS
from webapp.sim.dcc import cluster_command_payload, read_attributes_payload


def test_response_is_signed_and_correlated(han, site, command, supplier) -> None:
    raw = command(site.chf_id, 0x0000_0190_0000_0001, 0x0001)

    async def scenario() -> bytes:
        return await send_and_receive(await connect(han, site.hub_id), raw)

    response = parse_message(run(scenario()))
    sent = parse_message(raw)
    assert response.cra is Cra.RESPONSE
    assert response.counter == sent.counter
    assert response.message_code == sent.message_code == 0x0001
    assert response.originator_hex == site.chf_id == sent.recipient_hex
    assert response.recipient_hex == sent.originator_hex == supplier.eui.hex().upper()
    assert response.header.date_time is not None

    certificates = CertificateStore()
    certificate = x509.load_pem_x509_certificate(han.device_certificate_pem(site.chf_id))
    certificates.add(site.chf_id, certificate)
    assert verify_message(response, certificates) is SignatureState.VALID
    assert verify_mac(han.device_mac_key(site.chf_id), response.raw)
    ca = x509.load_pem_x509_certificate(han.device_ca_certificate_pem())
    certificate.verify_directly_issued_by(ca)


def test_signature_fails_with_another_devices_certificate(han, site, command) -> None:
    async def scenario() -> bytes:
        link = await connect(han, site.hub_id)
        return await send_and_receive(link, command(site.esme_id, 1))

    response = parse_message(run(scenario()))
    certificates = CertificateStore()
    other = x509.load_pem_x509_certificate(han.device_certificate_pem(site.gsme_id))
    certificates.add(site.esme_id, other)
    assert verify_message(response, certificates) is SignatureState.INVALID


def test_gbz_read_is_answered_attribute_by_attribute(han, site, command) -> None:
    payload = read_attributes_payload(CLUSTER_METERING, [0x0000, 0x0302, 0x7777], sequence=9)

    async def scenario() -> bytes:
        link = await connect(han, site.hub_id)
        return await send_and_receive(link, command(site.esme_id, 5, 0x0027, payload))

    (component,) = parse_gbz(parse_message(run(scenario())).payload)
    assert component.cluster_id == CLUSTER_METERING
    assert component.zcl.command_id == CMD_READ_ATTRIBUTES_RESPONSE
    assert component.zcl.sequence == 9
    body = component.zcl.payload
    assert body[0:3] == b"\x00\x00\x00" and body[3] == 0x25  # attribute 0, success, uint48
    assert int.from_bytes(body[4:10], "little") > 0
    assert body[10:13] == b"\x02\x03\x00" and body[13] == 0x22  # divisor, uint24
    assert int.from_bytes(body[14:17], "little") == 1000
    assert body[17:20] == b"\x77\x77\x86"  # unsupported attribute


def test_gbz_command_gets_default_response_success(han, site, command) -> None:
    payload = cluster_command_payload(0x0700, 0x05, b"\x01\x02", sequence=3)

    async def scenario() -> bytes:
        link = await connect(han, site.hub_id)
        return await send_and_receive(link, command(site.esme_id, 6, 0x0019, payload))

    (component,) = parse_gbz(parse_message(run(scenario())).payload)
    assert component.cluster_id == 0x0700
    assert component.zcl.command_id == CMD_DEFAULT_RESPONSE
    assert component.zcl.payload == b"\x05\x00"


def test_outcomes_as_the_hht_reads_them(han, site, command) -> None:
    async def scenario() -> list[bytes]:
        link = await connect(han, site.hub_id)
        join = command(site.esme_id, 10, 0x000D)  # CS03A1: ASN.1 result INTEGER
        tampered = bytearray(command(site.esme_id, 11, 0x000D))
        tampered[-3] ^= 0x01
        clock = command(site.esme_id, 12, 0x0062)
        return [
            await send_and_receive(link, raw) for raw in (join, bytes(tampered), clock, clock, join)
        ]

    raws = run(scenario())
    join, tampered, clock, clock_again, _ = (response_outcome(parse_message(r)) for r in raws)
    assert default_response_status(raws[-1]) == STATUS_DUPLICATE_EXISTS  # whatever the use case
    assert join.status == SUCCESS
    assert tampered.status == FAILURE
    assert clock.status == SUCCESS
    assert clock_again.status == FAILURE
    assert [r["counter"] for r in han.device_log()] == [10, 12]


def test_dlms_request_answered_item_by_item(han, site, command) -> None:
    request = dlms.access_request(
        dlms.invoke_id(21),
        [
            (dlms.get_attribute(8, "0-0:1.0.0.255", 2), dlms.null_data()),  # clock time
            (dlms.set_attribute(8, "0-0:1.0.0.255", 9), dlms.enum(5)),
            (dlms.get_attribute(1, "0-0:96.99.99.255", 2), dlms.null_data()),  # not modelled
        ],
    )
    response = parse_message(han.deliver_via_wan(command(site.esme_id, 21, 0x0062, request)))
    apdu = parse_dlms(response.payload)
    assert apdu.invoke_id == dlms.invoke_id(21)
    assert [d.type_name for d in apdu.data] == ["octet-string", "null-data", "null-data"]
    assert [(r.name, r.result_name) for r in apdu.results] == [
        ("get", "success"),
        ("set", "success"),
        ("get", "object-undefined"),
    ]
    assert response_outcome(response).status == FAILURE
    again = han.deliver_via_wan(command(site.esme_id, 21, 0x0062, request))
    assert default_response_status(again) == STATUS_DUPLICATE_EXISTS  # a rejection stays GBZ
