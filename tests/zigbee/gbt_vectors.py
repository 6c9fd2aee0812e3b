"""GBCS messages over one tunnel transfer (about 3 KB), built as the DCC and a meter build them:
a supplier's command in the Access Control Broker's MAC wrapper, the meter's MAC-wrapped
response to it, and a response with no MAC wrapper (General-Signing only)."""

from __future__ import annotations

from datetime import UTC, datetime

from webapp.gbcs.gbz import GbzComponent, ZclFrame, build_gbz
from webapp.gbcs.header import Cra, GroupingHeader, OtherInfo
from webapp.gbcs.message import (
    build_general_signing,
    parse_message,
    response_header_for,
    wrap_general_ciphering,
)
from webapp.sim.dcc import DemoSupplier

SUPPLIER_EUI = "90B3D51F30010000"
ESME = bytes.fromhex("00DB1234567890A0")
MAC_KEY = bytes(range(16))
ECS01A_SET_TARIFF = 0x0019
ECS17B_READ_IMPORT_REGISTERS = 0x0027
COMMAND_COUNTER = 0x0102030405
COMMAND_INVOCATION_COUNTER = 5
RESPONSE_INVOCATION_COUNTER = 9
RESPONSE_TIME = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
CLUSTER_PRICE = 0x0700
CLUSTER_METERING = 0x0702
ZCL_CLIENT_TO_SERVER = 0x01
ZCL_SERVER_TO_CLIENT = 0x09
PUBLISH_PRICE = 0x00
READ_ATTRIBUTES_RESPONSE = 0x01
#: Octets of ZCL payload that make each message about 3 KB.
BIG_PAYLOAD = 3000


def _supplier() -> DemoSupplier:
    return DemoSupplier.create(SUPPLIER_EUI)


def _meter() -> DemoSupplier:
    return DemoSupplier.create(ESME.hex().upper(), seed=2)


def _gbz(cluster: int, control: int, command: int, seed: int) -> bytes:
    body = bytes((seed + i) % 256 for i in range(BIG_PAYLOAD))
    return build_gbz([GbzComponent(0, cluster, ZclFrame(control, 0, command, body))])


def set_tariff_payload() -> bytes:
    """The GBZ payload of a 3 KB ECS01a: one Publish Price command to the Price cluster."""
    return _gbz(CLUSTER_PRICE, ZCL_CLIENT_TO_SERVER, PUBLISH_PRICE, seed=0)


def big_command() -> bytes:
    """An ECS01a (set tariff) command of about 3 KB from the supplier to the ESME."""
    supplier = _supplier()
    header = GroupingHeader(
        cra=Cra.COMMAND,
        counter=COMMAND_COUNTER,
        originator=supplier.eui,
        recipient=ESME,
        date_time=None,
        other_info=OtherInfo(message_code=ECS01A_SET_TARIFF),
    )
    signed = build_general_signing(header, set_tariff_payload(), supplier.private_key)
    return wrap_general_ciphering(signed, MAC_KEY, supplier.eui, COMMAND_INVOCATION_COUNTER)


def big_response(command: bytes) -> bytes:
    """The ESME's MAC-wrapped response to ``command``, about 3 KB."""
    header = response_header_for(parse_message(command).header, RESPONSE_TIME)
    payload = _gbz(CLUSTER_METERING, ZCL_SERVER_TO_CLIENT, READ_ATTRIBUTES_RESPONSE, seed=7)
    signed = build_general_signing(header, payload, _meter().private_key)
    return wrap_general_ciphering(signed, MAC_KEY, ESME, RESPONSE_INVOCATION_COUNTER)


def big_unwrapped_response() -> bytes:
    """An ECS17b response of about 3 KB with no MAC wrapper (``DF ...``)."""
    header = GroupingHeader(
        cra=Cra.RESPONSE,
        counter=3,
        originator=ESME,
        recipient=_supplier().eui,
        date_time=RESPONSE_TIME,
        other_info=OtherInfo(message_code=ECS17B_READ_IMPORT_REGISTERS),
    )
    payload = _gbz(CLUSTER_METERING, ZCL_SERVER_TO_CLIENT, READ_ATTRIBUTES_RESPONSE, seed=3)
    return build_general_signing(header, payload, _meter().private_key)


def big_messages() -> list[bytes]:
    command = big_command()
    return [command, big_response(command), big_unwrapped_response()]
