"""Small helpers shared by the simulated-HAN tests."""

from __future__ import annotations

from webapp.gbcs.gbz import parse_gbz
from webapp.gbcs.message import parse_message
from webapp.gbcs.zcl_ids import CMD_DEFAULT_RESPONSE
from webapp.sim.han.han import SimHan
from webapp.sim.message_driver import SimHubLink

RECEIVE_TIMEOUT = 2.0  # real seconds; device delays are milliseconds in fast mode


async def connect(han: SimHan, hub_id: str, **driver_options: object) -> SimHubLink:
    return await han.driver(**driver_options).connect(hub_id)  # type: ignore[arg-type]


async def send_and_receive(link: SimHubLink, raw: bytes, *, ack: bool = True) -> bytes:
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
