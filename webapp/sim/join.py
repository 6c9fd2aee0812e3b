"""The simulated stick joining a hub's HAN, in bytes, as a stick's firmware does it.

1. Association Request (MAC command, from the stick's EUI-64 to the coordinator);
2. Data Request (the poll for the answer); the hub answers with the Association Response
   (the short address) and, as trust centre, the APS Transport Key carrying the network
   key, APS-secured under the key-transport key hashed from the install-code link key;
3. the stick opens the Transport Key with its own install-code link key: a hub that holds
   another install code for this terminal sends a key that does not open, and the join
   fails here, as on a real stick;
4. Device Announce, broadcast under the network key: the hub takes the terminal as joined.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from webapp.zigbee.frames.aps import ApsFrame
from webapp.zigbee.frames.aps_commands import TransportNetworkKey
from webapp.zigbee.frames.mac import (
    AssociationRequest,
    AssociationResponse,
    AssociationStatus,
    CapabilityInfo,
    DataRequest,
    MacCommand,
    MacFrame,
    MacFrameType,
)
from webapp.zigbee.frames.zdo import BROADCAST_RX_ON_WHEN_IDLE, DeviceAnnounce
from webapp.zigbee.security.aps import open_aps
from webapp.zigbee.security.errors import SecurityError
from webapp.zigbee.security.header import KeyId
from webapp.zigbee.security.nwk import read_nwk
from webapp.zigbee.sizes import COORDINATOR_SHORT
from webapp.zigbee.types import EUI64, FrameError

if TYPE_CHECKING:
    from webapp.sim.han.hub_radio import HubEndpoint
    from webapp.sim.radio import SimFrameRadio

log = logging.getLogger(__name__)

#: The HHT joins as an end device that keeps its receiver on and wants a short address.
HHT_CAPABILITY = CapabilityInfo(receiver_on_when_idle=True, allocate_address=True)


class JoinError(Exception):
    """The hub did not let the stick into its network; the message says where it stopped."""


async def join_network(
    radio: SimFrameRadio, hub: HubEndpoint, pan_id: int, link_key: bytes
) -> bytes:
    """Join ``hub``'s network on ``pan_id`` with the install-code ``link_key``; sets the
    radio's short address and network key and returns the network key."""
    layers = radio.layers
    layers.short, layers.pan_id, layers.network_key = None, pan_id, None
    request = AssociationRequest(
        seq=layers.next_mac_seq(),
        pan=pan_id,
        coordinator=COORDINATOR_SHORT,
        device=radio.eui,
        capability=HHT_CAPABILITY,
    )
    await radio.exchange(hub, request.to_bytes())
    poll = DataRequest(
        seq=layers.next_mac_seq(), pan=pan_id, coordinator=COORDINATOR_SHORT, device=radio.eui
    )
    short: int | None = None
    network_key: bytes | None = None
    key_seq = 0
    for raw in await radio.exchange(hub, poll.to_bytes()):
        try:
            frame = MacFrame.from_bytes(raw)
            if frame.header.frame_type == MacFrameType.COMMAND:
                response = AssociationResponse.from_command(MacCommand.from_mac(frame))
                if response.device != radio.eui:
                    continue
                if response.status != AssociationStatus.SUCCESS:
                    raise JoinError(f"association refused ({response.status.name})")
                short = response.short_address
            elif frame.header.frame_type == MacFrameType.DATA:
                network_key, key_seq = open_transport_key(
                    frame.payload, link_key, hub.eui, radio.eui
                )
        except FrameError as exc:
            raise JoinError(f"an undecodable join frame ({exc})") from exc
    if short is None:
        raise JoinError("no association response")
    if network_key is None:
        raise JoinError("no network key came: the hub does not hold this terminal's install code")
    layers.short, layers.network_key, layers.key_seq = short, network_key, key_seq
    announce = DeviceAnnounce(
        seq=layers.next_aps_counter(), nwk_address=short, ieee=radio.eui, capability=HHT_CAPABILITY
    )
    aps = ApsFrame(announce.aps_header(layers.next_aps_counter()), announce.to_bytes())
    await radio.exchange(hub, layers.data_frame(BROADCAST_RX_ON_WHEN_IDLE, aps.to_bytes()))
    log.info("sim stick joined %s's network as 0x%04X", hub.hub_id, short)
    return network_key


def open_transport_key(
    nwk_raw: bytes, link_key: bytes, trust_centre: EUI64, me: EUI64
) -> tuple[bytes, int]:
    """The network key and its sequence number from the trust centre's Transport Key."""
    nwk, security, aps_raw = read_nwk(nwk_raw)
    if security is not None:
        raise JoinError("a network-secured frame before the network key came")
    try:
        _header, aps_security, payload = open_aps(aps_raw, key=link_key, source=trust_centre)
    except SecurityError as exc:
        raise JoinError(
            "the network key did not open under this terminal's install-code key "
            f"(the hub holds another install code for it): {exc}"
        ) from exc
    if aps_security.key_id != KeyId.KEY_TRANSPORT or aps_security.source != trust_centre:
        raise JoinError("the network key did not come from the trust centre")
    command = TransportNetworkKey.from_bytes(payload)
    if command.destination != me:
        raise JoinError("the network key was for another device")
    return command.key, command.key_seq
