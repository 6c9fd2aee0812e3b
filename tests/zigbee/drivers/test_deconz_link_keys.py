"""The CBKE link key in a ConBee, through zigpy-deconz and the deCONZ emulator: the host's
key is written as the link-key parameter, payloads to the hub after key establishment go
with the security-enabled transmit option and the tunnel reaches the hub APS-secured under
that key; a firmware that takes the key but never uses it fails as a real hub makes it fail."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import zigpy.types as zt
import zigpy_deconz.types as dt
from zigpy_deconz.api import NETWORK_PARAMETER_TYPES, NetworkParameter

from tests.sim.conftest import send_and_receive
from tests.zigbee.drivers.link_keys import (
    KE_CLUSTER,
    TUNNEL_CLUSTER,
    assert_tunnel_secured_under_cbke_key,
    flags,
    watch_hub,
    watch_secured,
)
from tests.zigbee.drivers.test_deconz import conbee
from webapp.gbcs.message import parse_message
from webapp.sim.han.han import SimHan
from webapp.sim.han.scenario import SiteInfo
from webapp.zigbee.drivers.base import ErrorCode, RadioError
from webapp.zigbee.drivers.deconz import frames
from webapp.zigbee.drivers.deconz.radio import _tx_options
from webapp.zigbee.sizes import MAX_APS_BLOCK
from webapp.zigbee.types import EUI64, u16

WRITE_PARAMETER = 0x0B
LINK_KEY_PARAMETER = 0x19
SECURED = 0x05  # SECURITY_ENABLED | USE_APS_ACKS
NETWORK_ONLY = 0x06  # USE_NWK_KEY_SECURITY | USE_APS_ACKS
FRAGMENTED = 0x08


def test_transmit_options() -> None:
    assert _tx_options(10, secure=True) == SECURED
    assert _tx_options(10, secure=False) == NETWORK_ONLY
    assert _tx_options(MAX_APS_BLOCK + 1, secure=True) == SECURED | FRAGMENTED
    theirs = {m.name: int(m) for m in dt.DeconzTransmitOptions if m.name != "NONE"}
    assert {m.name: int(m) for m in frames.TransmitOptions} == theirs


def test_the_link_key_parameter_is_the_peer_then_the_key() -> None:
    hub, key = EUI64.from_hex("00124B0001020304"), bytes(range(16))
    assert int(NetworkParameter.link_key) == LINK_KEY_PARAMETER == frames.NetworkParameter.LINK_KEY
    value_type = NETWORK_PARAMETER_TYPES[NetworkParameter.link_key][1]
    value = value_type(ieee=zt.EUI64.deserialize(hub.le)[0], key=zt.KeyData(key))
    assert value.serialize() == hub.le + key


def test_the_host_cbke_key_is_written_to_the_conbee_and_secures_the_tunnel(
    han: SimHan, site: SiteInfo, command: Any, tmp_path: Path
) -> None:
    hub = EUI64.from_hex(site.hub_id)
    watch = watch_hub(han, site.hub_id)

    async def scenario() -> dict[str, Any]:
        async with conbee(han, site.name, tmp_path) as stick:
            secured = watch_secured(stick.radio)
            link = await stick.stack.connect(site.hub_id)
            small = await send_and_receive(link, command(site.esme_id, 1))
            big = await send_and_receive(link, command(site.esme_id, 2, payload=bytes(600)))
            return {
                "answers": [small, big],
                "writes": list(stick.emulator.link_key_writes),
                "tx_options": dict(stick.emulator.tx_options),
                "secured": secured,
            }

    got = asyncio.run(scenario())
    assert [parse_message(a).header.counter for a in got["answers"]] == [1, 2]
    assert_tunnel_secured_under_cbke_key(watch)
    key = watch.cbke_key
    assert key is not None
    # the join's write (the install-code key for the trust centre), then the CBKE key's:
    # command, sequence, status, frame length, payload length, parameter, EUI-64, key
    assert len(got["writes"]) == 2
    write = got["writes"][1]
    body = u16(1 + 8 + 16) + bytes([LINK_KEY_PARAMETER]) + hub.le + key
    assert write[:1] + write[2:] == bytes([WRITE_PARAMETER, 0]) + u16(5 + len(body)) + body
    options = got["tx_options"]
    assert {o & ~FRAGMENTED for c, o in options if c == KE_CLUSTER} == {NETWORK_ONLY}
    assert {o for c, o in options if c == TUNNEL_CLUSTER} == {SECURED, SECURED | FRAGMENTED}
    assert flags(got["secured"], TUNNEL_CLUSTER) == {None}  # indications do not say


def test_firmware_that_takes_the_key_but_never_uses_it_is_link_key_rejected(
    han: SimHan, site: SiteInfo, tmp_path: Path
) -> None:
    watch = watch_hub(han, site.hub_id)

    async def scenario() -> tuple[RadioError, int]:
        async with conbee(han, site.name, tmp_path, apply_link_keys=False) as stick:
            with pytest.raises(RadioError) as err:
                await stick.stack.connect(site.hub_id)
            return err.value, len(stick.emulator.link_key_writes)

    error, writes = asyncio.run(scenario())
    assert error.code is ErrorCode.LINK_KEY_REJECTED
    assert writes == 2  # the key was written, and taken (SUCCESS)
    assert watch.cbke_key is not None  # key establishment itself went through
    assert watch.key_drops > 0  # the tunnel came under the install-code key: dropped
