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

from webapp.zigbee.capture import RECONSTRUCTED_COMMENT, page_for_band
from webapp.zigbee.drivers.base import BAND_2_4_GHZ, Beacon
from webapp.zigbee.drivers.frames_base import FrameRadio, ReceivedAps, ReceivedInterPan
from webapp.zigbee.frames.aps import ApsFrame
from webapp.zigbee.frames.interpan import InterPanFrame
from webapp.zigbee.frames.mac import BeaconFrame, SuperframeSpec, ZigbeeBeaconPayload, data_frame
from webapp.zigbee.frames.nwk import NwkHeader
from webapp.zigbee.sizes import COORDINATOR_SHORT
from webapp.zigbee.types import EUI64

if TYPE_CHECKING:
    from webapp.zigbee.capture import Capture

log = logging.getLogger(__name__)

#: NWK address written for the terminal in rebuilt frames (the stick does not say its own).
UNKNOWN_SHORT = 0xFFFE
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

    def _aps_frame(self, hub: str, frame: ApsFrame, *, outgoing: bool) -> bytes:
        _channel, _band, pan = self._where(hub)
        hub_eui = EUI64.from_hex(hub)
        src, dst = (self.terminal, hub_eui) if outgoing else (hub_eui, self.terminal)
        nwk = NwkHeader(
            dst=COORDINATOR_SHORT if outgoing else UNKNOWN_SHORT,
            src=UNKNOWN_SHORT if outgoing else COORDINATOR_SHORT,
            radius=NWK_RADIUS,
            seq=self._next_seq(),
            dst_ieee=dst,
            src_ieee=src,
        )
        plain = ApsFrame(replace(frame.header, security=False), frame.payload)
        payload = nwk.to_bytes() + plain.to_bytes()
        return data_frame(self._next_seq(), pan=pan, dst=dst, src=src, payload=payload).to_bytes()

    # ------------------------------------------------------------ the radio
    async def active_scan(self, channels: list[int] | None = None) -> list[Beacon]:
        beacons = await self.inner.active_scan(channels)
        for beacon in beacons:
            hub = beacon.extended_pan_id.upper()
            self._channels[hub] = (beacon.channel, beacon.band, beacon.pan_id)
            raw = BeaconFrame(
                seq=self._next_seq(),
                src_pan=beacon.pan_id,
                src=COORDINATOR_SHORT,
                superframe=SuperframeSpec(
                    pan_coordinator=True, association_permit=beacon.permit_join
                ),
                payload=ZigbeeBeaconPayload(EUI64.from_hex(hub)),
            ).to_bytes()
            self._write(
                raw, channel=beacon.channel, band=beacon.band, direction="in", rssi=beacon.rssi
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
        raw = self._aps_frame(destination, frame, outgoing=True)
        self._write(raw, channel=channel, band=band, direction="out", comment=comment)

    async def receive_aps(self, timeout: float) -> ReceivedAps | None:
        received = await self.inner.receive_aps(timeout)
        if received is not None:
            channel, band, _pan = self._where(received.source)
            comment = RECONSTRUCTED_COMMENT + (APS_SECURED_NOTE if received.secured else "")
            raw = self._aps_frame(received.source, received.frame, outgoing=False)
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
