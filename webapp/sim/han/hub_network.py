"""A simulated hub as its network's coordinator and trust centre, in bytes.

What reaches a hub's radio is bytes.  Here they are taken apart as a real hub would:

- the join: an Association Request (MAC command) gets an Association Response with a short
  address when the terminal next polls (Data Request); the trust centre then sends the
  network key in an APS Transport Key, APS-secured under the key-transport key hashed from
  the install-code link key in the hub's device log (nothing for a terminal not in the
  log), and takes the terminal as joined when its Device Announce arrives under the
  network key;
- data frames are opened (:class:`webapp.sim.node.NodeLayers`: NWK security with the
  network key and frame counters, APS security with the link key held for the sender) and
  what comes through goes to the hub's application (:class:`.hub_radio.HubEndpoint`),
  whose answers go back the same way.

A frame that fails is dropped and counted in the endpoint's ``dropped``, as a real hub does.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING

from webapp.sim.node import NodeLayers
from webapp.zigbee.frames import zdo
from webapp.zigbee.frames.aps_commands import TransportNetworkKey, command_header
from webapp.zigbee.frames.mac import (
    BROADCAST_PAN,
    AssociationRequest,
    AssociationResponse,
    AssociationStatus,
    DataRequest,
    MacCommand,
    MacCommandId,
    MacFrame,
    MacFrameType,
)
from webapp.zigbee.security.aps import secure_aps
from webapp.zigbee.security.header import KeyId
from webapp.zigbee.sizes import COORDINATOR_SHORT
from webapp.zigbee.types import EUI64, FrameError

if TYPE_CHECKING:
    from .hub_radio import HubEndpoint, Reply

log = logging.getLogger(__name__)

#: Sim seconds between a poll and the association response, and the Transport Key after it.
JOIN_TURNAROUND_SECONDS = 0.005
FIRST_CHILD_SHORT = 0x1A01

Air = list[tuple[float, bytes]]


def network_key_of(seed: object, hub_id: str) -> bytes:
    """The network key of a simulated hub's HAN (stable for the HAN's seed)."""
    return hashlib.sha256(f"hht-sim-network-key:{seed}:{hub_id.upper()}".encode()).digest()[:16]


def meter_link_key(seed: object, eui: str) -> bytes:
    """The APS link key a simulated meter shares with its hub (stable for the seed)."""
    return hashlib.sha256(f"hht-sim-meter-link-key:{seed}:{eui.upper()}".encode()).digest()[:16]


#: The short addresses the meters of a simulated HAN hold.
METER_SHORTS = {"esme": 0x0001, "gsme": 0x0002}


class HubNetwork:
    """The coordinator and trust centre of one simulated hub's HAN."""

    def __init__(self, endpoint: HubEndpoint, pan_id: int) -> None:
        self.endpoint = endpoint
        self.layers = NodeLayers(
            endpoint.eui,
            link_key_for=endpoint.link_key,
            short=COORDINATOR_SHORT,
            pan_id=pan_id,
            network_key=network_key_of(endpoint.han.seed, endpoint.hub_id),
            dropped=endpoint.dropped,
        )
        self._shorts: dict[EUI64, int] = {}
        self._polling: set[EUI64] = set()  # associated, waiting for their response

    @property
    def network_key(self) -> bytes:
        assert self.layers.network_key is not None
        return self.layers.network_key

    def short_of(self, hht: EUI64) -> int:
        found = self._shorts.get(hht)
        if found is None:
            found = self._shorts[hht] = FIRST_CHILD_SHORT + len(self._shorts)
        return found

    # ------------------------------------------------------------ in
    def on_frame(self, raw: bytes, now: float) -> Air:
        """Frames to answer ``raw`` with, each after a modelled delay."""
        try:
            frame = MacFrame.from_bytes(raw)
        except FrameError as exc:
            self.endpoint.count_drop("malformed", exc)
            return []
        header = frame.header
        if header.dst_pan not in (self.layers.pan_id, BROADCAST_PAN):
            return []
        if header.frame_type == MacFrameType.COMMAND:
            return self._on_mac_command(frame)
        if header.frame_type != MacFrameType.DATA:
            return []
        opened = self.layers.open(raw)
        if opened is None:
            return []
        aps = opened.frame.header
        if aps.profile_id == zdo.ZDO_PROFILE:
            if aps.cluster_id == zdo.DEVICE_ANNOUNCE_CLUSTER:
                self._on_device_announce(opened.source, opened.frame.payload)
            return []
        kind = self.endpoint.meter_kind(opened.source)
        if kind is not None:
            self._shorts.setdefault(opened.source, METER_SHORTS[kind])
            meter_replies = self.endpoint.on_meter_aps(
                opened.source, opened.frame, now, key=opened.key
            )
            return self.emit(opened.source, meter_replies)
        replies = self.endpoint.on_aps(opened.source, opened.frame, now, key=opened.key)
        return self.emit(opened.source, replies)

    def _on_mac_command(self, frame: MacFrame) -> Air:
        try:
            command = MacCommand.from_mac(frame)
            if command.command_id == MacCommandId.ASSOCIATION_REQUEST:
                request = AssociationRequest.from_command(command)
                if self.endpoint.accepts_association():
                    self._polling.add(request.device)
            elif command.command_id == MacCommandId.DATA_REQUEST:
                poll = DataRequest.from_command(command)
                if isinstance(poll.device, EUI64) and poll.device in self._polling:
                    self._polling.discard(poll.device)
                    return self._admit(poll.device)
        except FrameError as exc:
            self.endpoint.count_drop("malformed", exc)
        return []

    def _admit(self, hht: EUI64) -> Air:
        """The association response, then (for a terminal in the device log) the network
        key under the key-transport key of its install-code link key."""
        short = self.short_of(hht)
        response = AssociationResponse(
            seq=self.layers.next_mac_seq(),
            pan=self.layers.pan_id or 0,
            coordinator=self.endpoint.eui,
            device=hht,
            short_address=short,
            status=AssociationStatus.SUCCESS,
        )
        out: Air = [(JOIN_TURNAROUND_SECONDS, response.to_bytes())]
        link_key = self.endpoint.device_log.get(hht)
        if link_key is None:
            log.info(
                "hub %s: %s is not in its device log; no network key", self.endpoint.hub_id, hht
            )
            return out
        transport = TransportNetworkKey(
            key=self.network_key,
            key_seq=self.layers.key_seq,
            destination=hht,
            source=self.endpoint.eui,
        )
        aps = secure_aps(
            command_header(self.layers.next_aps_counter()),
            transport.to_bytes(),
            key=link_key,
            key_id=KeyId.KEY_TRANSPORT,
            frame_counter=self.layers.aps_counter.next(),
            source=self.endpoint.eui,
            extended_nonce=True,
        )
        out.append((JOIN_TURNAROUND_SECONDS, self.layers.plain_data_frame(short, aps)))
        return out

    def _on_device_announce(self, hht: EUI64, payload: bytes) -> None:
        try:
            announce = zdo.DeviceAnnounce.from_bytes(payload)
        except FrameError as exc:
            self.endpoint.count_drop("malformed", exc)
            return
        if announce.ieee != hht or self._shorts.get(hht) != announce.nwk_address:
            self.endpoint.count_drop("malformed", "a Device Announce for another node")
            return
        self.endpoint.joined(hht)

    # ------------------------------------------------------------ out
    def emit(self, hht: EUI64, replies: list[Reply]) -> Air:
        """The application's APS frames for ``hht`` as bytes on the air."""
        short = self._shorts.get(hht)
        if short is None:
            return []
        return [
            (delay, self.layers.data_frame(short, self.layers.aps_bytes(frame, key)))
            for delay, frame, key in replies
        ]
