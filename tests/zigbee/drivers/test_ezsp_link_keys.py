"""The CBKE link key in an EZSP stick, through bellows and the EZSP emulator: the host's key
goes into the NCP's key table by the command of the negotiated EZSP version, the key the
NCP's own CBKE agreed stays in it, and the tunnel goes APS-secured under that key; a
firmware that takes the key but never uses it fails as a real hub makes it fail."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.sim.conftest import send_and_receive
from tests.zigbee.drivers.link_keys import (
    KE_CLUSTER,
    TUNNEL_CLUSTER,
    assert_tunnel_secured_under_cbke_key,
    flags,
    watch_hub,
    watch_secured,
)
from tests.zigbee.drivers.test_ezsp import command, ezsp_stack
from webapp.gbcs.message import parse_message
from webapp.sim.dcc import DemoSupplier
from webapp.sim.emulators import ezsp as emu
from webapp.sim.han.han import SimHan
from webapp.sim.han.scenario import SiteInfo
from webapp.sim.radio import SIM_HHT_EUI
from webapp.zigbee.drivers.base import ErrorCode, RadioError
from webapp.zigbee.types import EUI64

LINK_KEY = b"\x01"  # findKeyTableEntry / addOrUpdateKeyTableEntry: a link key, not a master key


def _expected_key_commands(version: int, hub: EUI64, key: bytes) -> list[tuple[int, bytes]]:
    """The key commands for two installs of ``key``: the second finds the hub's entry."""
    if version >= 13:
        return [
            (emu.FIND_KEY_TABLE_ENTRY, hub.le + LINK_KEY),
            (emu.IMPORT_LINK_KEY, b"\xff" + hub.le + key),  # none yet: its entry or a free one
            (emu.FIND_KEY_TABLE_ENTRY, hub.le + LINK_KEY),
            (emu.IMPORT_LINK_KEY, b"\x00" + hub.le + key),  # the entry the first one took
        ]
    return [(emu.ADD_OR_UPDATE_KEY_TABLE_ENTRY, hub.le + LINK_KEY + key)] * 2


@pytest.mark.parametrize("version", [13, 12, 8])
def test_the_host_cbke_key_goes_into_the_key_table_and_secures_the_tunnel(
    han: SimHan, site: SiteInfo, supplier: DemoSupplier, tmp_path: Path, version: int
) -> None:
    hub = EUI64.from_hex(site.hub_id)
    watch = watch_hub(han, site.hub_id)

    async def scenario() -> dict[str, Any]:
        async with ezsp_stack(han, tmp_path / "dev", protocol_version=version) as (
            emulator,
            radio,
            stack,
        ):
            secured = watch_secured(radio)
            link = await stack.connect(site.hub_id)
            small = await send_and_receive(link, command(han, supplier, site.esme_id, 1))
            key = watch.cbke_key
            assert key is not None
            await radio.install_link_key(hub, key)  # once more: the same entry is rewritten
            big = await send_and_receive(link, command(han, supplier, site.esme_id, 2, 600))
            return {
                "answers": [small, big],
                "key": key,
                "key_commands": list(emulator.key_commands),
                "key_table": list(emulator._session.key_table),
                "frames": dict(emulator.secured_frames),
                "secured": secured,
            }

    got = asyncio.run(scenario())
    assert [parse_message(a).header.counter for a in got["answers"]] == [1, 2]
    assert_tunnel_secured_under_cbke_key(watch)
    assert got["key_commands"] == _expected_key_commands(version, hub, got["key"])
    assert got["key_table"][0] == (hub, got["key"]) and not any(got["key_table"][1:])
    assert got["frames"][True] > 0 and got["frames"][False] > 0  # the tunnel; CBKE
    # the NCP says which frames from the hub came APS-secured, and the driver passes it on
    assert flags(got["secured"], TUNNEL_CLUSTER) == {True}
    assert flags(got["secured"], KE_CLUSTER) == {False}


def test_the_ncp_cbke_engine_stores_its_key_and_a_host_key_does_not_replace_it(
    han: SimHan, site: SiteInfo, supplier: DemoSupplier, tmp_path: Path
) -> None:
    hub = EUI64.from_hex(site.hub_id)
    watch = watch_hub(han, site.hub_id)
    installed = han.frames.ca.issue(SIM_HHT_EUI)

    async def scenario() -> dict[str, Any]:
        async with ezsp_stack(han, tmp_path / "dev", ncp_credentials=installed) as (
            emulator,
            radio,
            stack,
        ):
            link = await stack.connect(site.hub_id)
            stored = list(emulator.key_commands)
            await radio.install_link_key(hub, bytes(16))  # harmless: the stick keeps its own
            answer = await send_and_receive(link, command(han, supplier, site.esme_id, 1))
            return {
                "answer": answer,
                "stored": stored,
                "key_commands": list(emulator.key_commands),
                "key_table": list(emulator._session.key_table),
                "cbke_link_keys": dict(emulator.cbke_link_keys),
            }

    got = asyncio.run(scenario())
    assert parse_message(got["answer"]).header.counter == 1
    assert_tunnel_secured_under_cbke_key(watch)
    # clearTemporaryDataMaybeStoreLinkKey283k1(storeLinkKey=True), and no host key after it
    assert got["stored"] == got["key_commands"] == [(emu.CLEAR_TEMPORARY_DATA_283K1, b"\x01")]
    assert got["cbke_link_keys"] == {hub: watch.cbke_key}
    assert got["key_table"][0] == (hub, watch.cbke_key)


@pytest.mark.parametrize("ncp_cbke", [False, True], ids=["host-cbke", "ncp-cbke"])
def test_firmware_that_takes_the_key_but_never_uses_it_is_link_key_rejected(
    han: SimHan, site: SiteInfo, tmp_path: Path, ncp_cbke: bool
) -> None:
    watch = watch_hub(han, site.hub_id)
    options: dict[str, Any] = {"apply_link_keys": False}
    if ncp_cbke:
        options["ncp_credentials"] = han.frames.ca.issue(SIM_HHT_EUI)

    async def scenario() -> tuple[RadioError, list[tuple[int, bytes]]]:
        async with ezsp_stack(han, tmp_path / "dev", **options) as (emulator, _radio, stack):
            with pytest.raises(RadioError) as err:
                await stack.connect(site.hub_id)
            return err.value, list(emulator.key_commands)

    error, key_commands = asyncio.run(scenario())
    assert error.code is ErrorCode.LINK_KEY_REJECTED
    assert watch.cbke_key is not None  # key establishment itself went through
    assert watch.key_drops > 0  # the tunnel came under the install-code key: dropped
    stored_by = emu.CLEAR_TEMPORARY_DATA_283K1 if ncp_cbke else emu.IMPORT_LINK_KEY
    assert stored_by in {frame_id for frame_id, _ in key_commands}


def test_a_key_the_stick_refuses_is_a_radio_fault(
    han: SimHan, site: SiteInfo, tmp_path: Path
) -> None:
    async def scenario() -> RadioError:
        async with ezsp_stack(han, tmp_path / "dev", key_table_size=0) as (_emu, _radio, stack):
            with pytest.raises(RadioError) as err:
                await stack.connect(site.hub_id)
            return err.value

    error = asyncio.run(scenario())
    assert error.code is ErrorCode.RADIO_FAULT
    assert "importLinkKey" in error.detail and "FULL" in error.detail
