"""Helpers for driving the simulated HAN from tests (the HAN fixtures themselves are in the
suite's root conftest): run a scenario, connect the HHT's stack, send a command and wait for
its answer, read a response's status, and put a message in a hub's outbox for the HHT."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric import ec

from webapp.gbcs.gbz import GbzComponent, ZclFrame, build_gbz, parse_gbz
from webapp.gbcs.header import Cra, GroupingHeader, OtherInfo
from webapp.gbcs.message import build_general_signing, parse_message
from webapp.gbcs.zcl_ids import CMD_DEFAULT_RESPONSE
from webapp.sim.han.han import SimHan
from webapp.sim.han.hub import Route
from webapp.zigbee.drivers.base import HubLink

RECEIVE_TIMEOUT = 2.0  # real seconds; device delays are milliseconds in fast mode

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def connect(han: SimHan, hub_id: str, **driver_options: Any) -> HubLink:
    """A link to ``hub_id`` through the HHT's stack over a fresh simulated radio."""
    return await han.driver(**driver_options).connect(hub_id)


async def send_and_receive(link: HubLink, raw: bytes, *, ack: bool = True) -> bytes:
    """Put ``raw`` and wait for the device's answer (acknowledged to the hub unless told)."""
    await link.put(raw)
    response = await link.receive(RECEIVE_TIMEOUT)
    assert response is not None, "no response from the simulated device"
    if ack:
        assert await link.ack(response)
    return response


def default_response_status(raw: bytes) -> int | None:
    """The status of the first ZCL Default Response in a response, None if it has none."""
    component = parse_gbz(parse_message(raw).payload)[0]
    if component.zcl.command_id != CMD_DEFAULT_RESPONSE:
        return None
    return component.zcl.payload[1]


def big_response(device: str, size: int) -> bytes:
    """A signed response from ``device`` carrying ``size`` octets of ZCL payload."""
    components = [GbzComponent(0, 0x0702, ZclFrame(0x09, 0, 0x01, bytes(size)))]
    header = GroupingHeader(
        Cra.RESPONSE,
        3,
        bytes.fromhex(device),
        bytes.fromhex("90B3D51F30DE0001"),
        None,
        OtherInfo(0x0027),
    )
    return build_general_signing(
        header, build_gbz(components), ec.generate_private_key(ec.SECP256R1())
    )


def hold_for_hht(han: SimHan, hub_id: str, device: str, raw: bytes) -> None:
    """Put ``raw`` in the outbox of ``hub_id``, waiting for the HHT."""
    with han.store.atomic():
        han.store.execute(
            "INSERT INTO outbox (hub_id, route, device, counter, message_code, outcome, raw,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [hub_id, Route.HHT.value, device, "3", 0x0027, "success", raw, han.clock.now()],
        )
