"""Tunnel transfers wrapped in Zigbee frames for Wireshark (test helper).

:class:`TunnelAir` puts GB-HRGP transfers in ZCL Tunneling commands (a Request Tunnel and its
response first, then TransferData), in unsecured APS frames (fragmented as the stack
fragments them), unsecured NWK data frames and 802.15.4 data frames, and writes them with
:class:`webapp.zigbee.capture.Capture` (pcapng, 802.15.4 TAP link type, the FCS added
there), as the HHT writes its own captures.  Wireshark's GBCS dissector reads GB-HRGP
transfers on the Smart Energy Tunneling cluster by itself; :mod:`tests.tshark` runs tshark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from webapp.zigbee.capture import Capture
from webapp.zigbee.frames import tunneling
from webapp.zigbee.frames.aps import ApsFrameType, ApsHeader
from webapp.zigbee.frames.fragmentation import fragment
from webapp.zigbee.frames.gbhrgp import HrgpGetResponse, HrgpPut
from webapp.zigbee.frames.mac import MacFrame, MacFrameType, MacHeader
from webapp.zigbee.frames.nwk import NwkFrame, NwkHeader
from webapp.zigbee.frames.tunneling import (
    GB_HRGP_MAX_TRANSFER_SIZE,
    GB_HRGP_REQUEST,
    RequestTunnelResponse,
    TransferData,
    TunnelCommand,
    TunnelStatus,
)
from webapp.zigbee.frames.zcl import Direction
from webapp.zigbee.sizes import HHT_ENDPOINT, HUB_ENDPOINT, MAX_APS_BLOCK, SMART_ENERGY_PROFILE

NWK_RADIUS = 30
HUB_SHORT = 0x0000  # the hub: coordinator of its HAN
CHANNEL = 11  # any 2.4 GHz channel: the capture says which, Wireshark does not care
FIRST_SECOND = 1_700_000_000.0
SECONDS_APART = 0.01


@dataclass
class TunnelAir:
    """The frames between an HHT and its hub through one GB-HRGP tunnel, in order."""

    pan: int = 0x1A2B
    hht: int = 0x4C1D
    hub: int = HUB_SHORT
    tunnel_id: int = 7
    frames: list[bytes] = field(default_factory=list)
    _sequence: int = 0
    _aps_counter: int = 0
    _tsn: int = 0

    def open_tunnel(self) -> None:
        """The HHT's Request Tunnel (GB-HRGP) and the hub's successful response."""
        self._command(GB_HRGP_REQUEST, Direction.CLIENT_TO_SERVER)
        response = RequestTunnelResponse(
            self.tunnel_id, int(TunnelStatus.SUCCESS), GB_HRGP_MAX_TRANSFER_SIZE
        )
        self._command(response, Direction.SERVER_TO_CLIENT)

    def put(self, part: bytes) -> None:
        """The HHT's PUT of ``part`` (a message or one GBT block) to the hub."""
        data = HrgpPut(part).to_bytes()
        self._command(TransferData(self.tunnel_id, data), Direction.CLIENT_TO_SERVER)

    def get_response(self, part: bytes, remaining: int = 0) -> None:
        """The hub's GET-RESPONSE carrying ``part`` to the HHT."""
        data = HrgpGetResponse(remaining, part).to_bytes()
        self._command(TransferData(self.tunnel_id, data), Direction.SERVER_TO_CLIENT)

    def _command(self, command: TunnelCommand, direction: Direction) -> None:
        self._tsn = (self._tsn + 1) & 0xFF
        zcl = tunneling.encode_tunneling(command, direction, self._tsn)
        if direction is Direction.CLIENT_TO_SERVER:
            self._send(self.hht, self.hub, zcl)
        else:
            self._send(self.hub, self.hht, zcl)

    def _send(self, src: int, dst: int, zcl: bytes) -> None:
        self._aps_counter = (self._aps_counter + 1) & 0xFF
        header = ApsHeader(
            frame_type=ApsFrameType.DATA,
            counter=self._aps_counter,
            dst_endpoint=HUB_ENDPOINT if dst == self.hub else HHT_ENDPOINT,
            cluster_id=tunneling.CLUSTER_ID,
            profile_id=SMART_ENERGY_PROFILE,
            src_endpoint=HHT_ENDPOINT if src == self.hht else HUB_ENDPOINT,
        )
        for aps in fragment(header, zcl, MAX_APS_BLOCK):
            self._sequence = (self._sequence + 1) & 0xFF
            nwk = NwkHeader(dst=dst, src=src, radius=NWK_RADIUS, seq=self._sequence)
            mac = MacHeader(
                MacFrameType.DATA,
                self._sequence,
                dst_pan=self.pan,
                dst=dst,
                src=src,
                pan_id_compression=True,
            )
            payload = NwkFrame(nwk, aps.to_bytes()).to_bytes()
            self.frames.append(MacFrame(mac, payload).to_bytes())

    def write_capture(self, path: Path) -> Path:
        """Write the frames (MAC frames without their FCS) as a capture, 10 ms apart."""
        with Capture.open(path, description="GB-HRGP tunnel (test frames)") as capture:
            for index, frame in enumerate(self.frames):
                capture.record(frame, at=FIRST_SECOND + index * SECONDS_APART, channel=CHANNEL)
        return path
