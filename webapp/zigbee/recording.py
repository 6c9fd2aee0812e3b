"""Recording what a real stick sends and hears, rebuilt as 802.15.4 frames for a capture.

A stick's firmware does the MAC and NWK layers (and NWK and APS security) itself: the host
hands it APS frames and Inter-PAN frames, and gets back APS payloads already decrypted
and Inter-PAN frames as fields.  :class:`RecordingRadio` sits between the stack and such a
radio and writes each frame into a capture rebuilt from what crossed the serial line: a
MAC data frame between the terminal's and the hub's EUI-64s on the hub's PAN, an unsecured
NWK header, and the APS frame in the clear.  Every rebuilt frame carries a pcapng comment
saying so (and whether it went APS-secured on the air); a real stick's capture never
holds keys.  Inter-PAN frames the host builds go into the capture as handed to the stick.

The simulated radio puts its own bytes on the air; it records them itself
(``FrameRadio.records_air``) and is never wrapped.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from webapp.gbcs.eui import eui_text
from webapp.zigbee.capture import RECONSTRUCTED_COMMENT, page_for_band
from webapp.zigbee.drivers.base import BAND_2_4_GHZ, Beacon
from webapp.zigbee.drivers.frames_base import FrameRadio, ReceivedAps, ReceivedInterPan
from webapp.zigbee.frames.aps import ApsFrame, Fragmentation
from webapp.zigbee.frames.fragmentation import OutgoingTransfer
from webapp.zigbee.frames.interpan import InterPanFrame
from webapp.zigbee.frames.mac import BeaconFrame, SuperframeSpec, ZigbeeBeaconPayload, data_frame
from webapp.zigbee.frames.nwk import NwkHeader
from webapp.zigbee.sizes import APS_WINDOW, COORDINATOR_SHORT, MAX_APS_BLOCK
from webapp.zigbee.types import EUI64

if TYPE_CHECKING:
    from webapp.zigbee.capture import Capture

log = logging.getLogger(__name__)

#: The terminal's NWK address in rebuilt frames: a stand-in (the stick does not report its
#: own); the EUI-64s in the NWK header say who is who.
TERMINAL_SHORT = 0x0001
NWK_RADIUS = 30
APS_SECURED_NOTE = "; on the air it was APS-secured under the hub's link key"


class RecordingRadio(FrameRadio):
    """``inner``, with every frame it sends and hears also written into ``capture``."""

    def __init__(self, inner: FrameRadio, capture: Capture, terminal: EUI64) -> None:
        self.inner = inner
        self.capture = capture
        self.terminal = terminal
        self.info = inner.info
        self._channels: dict[str, tuple[int, str, int]] = {}  # hub -> channel, band, PAN
        self._hub: str | None = None
        self._seq = 0

    def __getattr__(self, name: str) -> Any:
        # what only some radios offer (move_to, acknowledge, simulation controls)
        return getattr(self.inner, name)

    # ------------------------------------------------------------ writing
    def _where(self, hub: str | None) -> tuple[int, str, int]:
        return self._channels.get((hub or "").upper(), (0, BAND_2_4_GHZ, 0xFFFF))

    def _write(
        self,
        raw: bytes,
        *,
        channel: int,
        band: str,
        direction: str,
        rssi: float | None = None,
        comment: str | None = RECONSTRUCTED_COMMENT,
    ) -> None:
        try:
            self.capture.record(
                raw,
                at=time.time(),
                channel=channel,
                page=page_for_band(band),
                rssi=rssi,
                direction=direction,  # type: ignore[arg-type]
                comment=comment,
            )
        except (ValueError, OSError) as exc:  # a capture must never stop a job
            log.warning("capture %s: a frame was not recorded: %s", self.capture.path, exc)

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFF
        return self._seq

    def _aps_frames(self, hub: str, frame: ApsFrame, *, outgoing: bool) -> list[bytes]:
        """``frame`` as 802.15.4 frames: one, or (for a payload the stick took or gave
        whole) its blocks, split as APS fragmentation would."""
        _channel, _band, pan = self._where(hub)
        hub_eui = EUI64.from_hex(hub)
        src, dst = (self.terminal, hub_eui) if outgoing else (hub_eui, self.terminal)
        header = replace(frame.header, security=False)
        frames = [ApsFrame(header, frame.payload)]
        if header.fragmentation == Fragmentation.NONE and len(frame.payload) > MAX_APS_BLOCK:
            frames = OutgoingTransfer(header, frame.payload, MAX_APS_BLOCK, APS_WINDOW).frames
        out = []
        me, hub_short = TERMINAL_SHORT, COORDINATOR_SHORT
        src_short, dst_short = (me, hub_short) if outgoing else (hub_short, me)
        for aps in frames:
            nwk = NwkHeader(
                dst=dst_short,
                src=src_short,
                radius=NWK_RADIUS,
                seq=self._next_seq(),
                dst_ieee=dst,
                src_ieee=src,
            )
            payload = nwk.to_bytes() + aps.to_bytes()
            mac = data_frame(
                self._next_seq(), pan=pan, dst=dst_short, src=src_short, payload=payload
            )
            out.append(mac.to_bytes())
        return out

    # ------------------------------------------------------------ the radio
    async def active_scan(self, channels: list[int] | None = None) -> list[Beacon]:
        beacons = await self.inner.active_scan(channels)
        for beacon in beacons:
            hub = beacon.extended_pan_id.upper()
            self._channels[hub] = (beacon.channel, beacon.band, beacon.pan_id)
            epid = eui_text(hub)
            comment = RECONSTRUCTED_COMMENT
            if epid is None:  # some sticks' scans do not report the extended PAN id
                comment += "; the stick did not report the extended PAN id"
            raw = BeaconFrame(
                seq=self._next_seq(),
                src_pan=beacon.pan_id,
                src=COORDINATOR_SHORT,
                superframe=SuperframeSpec(
                    pan_coordinator=True, association_permit=beacon.permit_join
                ),
                payload=ZigbeeBeaconPayload(EUI64.from_hex(epid) if epid else EUI64(0)),
            ).to_bytes()
            self._write(
                raw,
                channel=beacon.channel,
                band=beacon.band,
                direction="in",
                rssi=beacon.rssi,
                comment=comment,
            )
        return beacons

    async def send_interpan(
        self, channel: int, frame: InterPanFrame, band: str = BAND_2_4_GHZ
    ) -> None:
        await self.inner.send_interpan(channel, frame, band)
        hub = str(frame.dst).upper()
        self._channels[hub] = (channel, band, frame.dst_pan)
        self._write(frame.to_bytes(), channel=channel, band=band, direction="out", comment=None)

    async def receive_interpan(self, timeout: float) -> ReceivedInterPan | None:
        received = await self.inner.receive_interpan(timeout)
        if received is not None:
            channel, band, _pan = self._where(str(received.frame.src))
            self._write(
                received.frame.to_bytes(),
                channel=channel,
                band=band,
                direction="in",
                rssi=received.rssi,
            )
        return received

    async def join(self, extended_pan_id: str, link_key: bytes) -> None:
        await self.inner.join(extended_pan_id, link_key)
        self._hub = extended_pan_id.upper()

    async def send_aps(self, destination: str, frame: ApsFrame, *, secure: bool = False) -> None:
        await self.inner.send_aps(destination, frame, secure=secure)
        channel, band, _pan = self._where(destination)
        comment = RECONSTRUCTED_COMMENT + (APS_SECURED_NOTE if secure else "")
        for raw in self._aps_frames(destination, frame, outgoing=True):
            self._write(raw, channel=channel, band=band, direction="out", comment=comment)

    async def receive_aps(self, timeout: float) -> ReceivedAps | None:
        received = await self.inner.receive_aps(timeout)
        if received is not None:
            channel, band, _pan = self._where(received.source)
            comment = RECONSTRUCTED_COMMENT + (APS_SECURED_NOTE if received.secured else "")
            for raw in self._aps_frames(received.source, received.frame, outgoing=False):
                self._write(raw, channel=channel, band=band, direction="in", comment=comment)
        return received

    async def install_link_key(self, peer: EUI64, key: bytes) -> None:
        await self.inner.install_link_key(peer, key)

    def expect(self, hub_id: str) -> None:
        self.inner.expect(hub_id)

    def key_establishment_party(self, peer: EUI64) -> object | None:
        return self.inner.key_establishment_party(peer)

    @property
    def available(self) -> bool:
        return self.inner.available

    async def reopen(self) -> None:
        await self.inner.reopen()

    async def leave(self) -> None:
        await self.inner.leave()

    async def close(self) -> None:
        await self.inner.close()
