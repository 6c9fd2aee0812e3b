"""Replay protection: a repeat or stale command is rejected and never executed."""

from __future__ import annotations

from tests.sim.conftest import connect, default_response_status, run, send_and_receive
from webapp.gbcs.gbz import parse_gbz
from webapp.gbcs.message import parse_message
from webapp.gbcs.zcl_ids import CMD_READ_ATTRIBUTES_RESPONSE
from webapp.gbcs.zcl_status import STATUS_DUPLICATE_EXISTS, STATUS_NOT_AUTHORIZED
from webapp.sim.dcc import DemoSupplier, build_command
from webapp.sim.han.devices import Outcome, counter_accepted, decide


def test_counter_rule() -> None:
    assert counter_accepted(None, 0)
    assert counter_accepted(5, 6)
    assert not counter_accepted(5, 5)
    assert not counter_accepted(5, 4)
    assert decide(True, 5, 6) is Outcome.SUCCESS
    assert decide(True, 5, 5) is Outcome.DUPLICATE
    assert decide(False, None, 1) is Outcome.NOT_AUTHORISED


def test_same_bytes_twice_executes_once(han, site, command) -> None:
    raw = command(site.esme_id, 1000)

    async def scenario() -> tuple[bytes, bytes]:
        link = await connect(han, site.hub_id)
        first = await send_and_receive(link, raw)
        second = await send_and_receive(link, raw)
        return first, second

    first, second = run(scenario())
    assert parse_gbz(parse_message(first).payload)[0].zcl.command_id == (
        CMD_READ_ATTRIBUTES_RESPONSE
    )
    assert default_response_status(second) == STATUS_DUPLICATE_EXISTS
    assert parse_message(second).counter == 1000
    log = [r for r in han.device_log() if r["device"] == site.esme_id]
    assert len(log) == 1
    assert log[0]["counter"] == 1000
    assert log[0]["message_code"] == 0x0027
    assert log[0]["executions"] == 1
    assert log[0]["route"] == "hht"
    assert [r["reason"] for r in han.rejections()] == ["duplicate"]


def test_stale_counter_rejected(han, site, command) -> None:
    async def scenario() -> list[bytes]:
        link = await connect(han, site.hub_id)
        return [
            await send_and_receive(link, command(site.esme_id, counter, 0x0062))
            for counter in (20, 10, 21)
        ]

    fresh, stale, later = run(scenario())
    assert default_response_status(fresh) == 0x00
    assert default_response_status(stale) == STATUS_DUPLICATE_EXISTS
    assert default_response_status(later) == 0x00
    assert [r["counter"] for r in han.device_log()] == [20, 21]


def test_counters_are_per_originator(han, site, command) -> None:
    other = DemoSupplier.create("90B3D51F30020000")

    async def scenario() -> bytes:
        link = await connect(han, site.hub_id)
        await send_and_receive(link, command(site.esme_id, 500))
        raw = build_command(
            han,
            supplier_identity=other,
            device_eui=site.esme_id,
            counter=100,
            message_code=0x0027,
            payload=b"",
            sign=False,
        )
        return await send_and_receive(link, raw)

    response = run(scenario())
    assert parse_message(response).recipient_hex == "90B3D51F30020000"
    assert len(han.device_log()) == 2


def test_wrong_mac_rejected_without_executing(han, site, command) -> None:
    raw = bytearray(command(site.esme_id, 7))
    raw[-1] ^= 0xFF

    async def scenario() -> bytes:
        link = await connect(han, site.hub_id)
        return await send_and_receive(link, bytes(raw))

    assert default_response_status(run(scenario())) == STATUS_NOT_AUTHORIZED
    assert han.device_log() == []
    assert [r["reason"] for r in han.rejections()] == ["not-authorised"]


def test_wan_first_then_hht_is_rejected(han, site, command) -> None:
    raw = command(site.esme_id, 42, 0x0062)
    by_wan = han.deliver_via_wan(raw)
    assert by_wan is not None and default_response_status(by_wan) == 0x00

    async def scenario() -> bytes:
        link = await connect(han, site.hub_id)
        return await send_and_receive(link, raw)

    assert default_response_status(run(scenario())) == STATUS_DUPLICATE_EXISTS
    (entry,) = han.device_log()
    assert entry["route"] == "wan" and entry["executions"] == 1
    assert han.wan_responses() == [by_wan]


def test_wan_down_delivers_nothing(han, site, command) -> None:
    han.set_wan(site.hub_id, False)
    assert han.deliver_via_wan(command(site.esme_id, 1)) is None
    assert han.device_log() == []
    han.set_wan(site.hub_id, True)
    assert han.deliver_via_wan(command(site.esme_id, 1)) is not None


def test_message_for_another_hub_is_dropped(han, site, command) -> None:
    raw = command(site.esme_id, 3)
    neighbour = site.neighbour_hub_ids[0]
    han.power_cycle(neighbour)

    async def scenario() -> bytes | None:
        link = await connect(han, neighbour)
        await link.put(raw)
        return await link.receive(0.2)

    assert run(scenario()) is None
    assert han.device_log() == []
    assert "recipient" in han.rejections()[0]["reason"]
