"""The low-level radio interface the HHT's own Zigbee stack runs on.

A low-level driver moves frames and nothing more: it scans for beacons, sends and
receives Inter-PAN frames (before the HHT belongs to any network), joins a network with a
link key, and sends and receives APS frames once joined.  Key establishment, install-code
registration, the GB-HRGP tunnel, fragmentation and block transfer are the stack's job
(above this interface), so one stack serves the simulated radio and real sticks alike.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING

from webapp.zigbee.drivers.base import BAND_2_4_GHZ, Beacon, RadioInfo
from webapp.zigbee.frames.aps import ApsFrame
from webapp.zigbee.frames.interpan import InterPanFrame
from webapp.zigbee.types import EUI64

if TYPE_CHECKING:
    from webapp.zigbee.capture import Capture


@dataclass(frozen=True)
class ReceivedInterPan:
    """An Inter-PAN frame heard by the radio, with the link quality it arrived at."""

    frame: InterPanFrame
    lqi: int
    rssi: int


@dataclass(frozen=True)
class ReceivedAps:
    """An APS frame from a node of the joined network (NWK security already removed)."""

    source: str  # the sender's EUI-64, 16 upper-case hex digits
    frame: ApsFrame
    #: True: it came APS-secured under the link key the radio holds for the sender;
    #: False: it came with network security only; None: the radio does not say.
    secured: bool | None = None


class FrameRadio(abc.ABC):
    """One radio at frame level.  Every call may raise ``RadioError``."""

    info: RadioInfo
    #: True for a radio that makes the bytes on the air itself (the simulator): it writes
    #: them into ``capture`` when one is set.  Others are recorded by
    #: :class:`webapp.zigbee.recording.RecordingRadio` from what crosses the serial line.
    records_air: bool = False
    capture: Capture | None = None

    @abc.abstractmethod
    async def active_scan(self, channels: list[int] | None = None) -> list[Beacon]:
        """Beacons heard on ``channels`` (all the radio's channels when None)."""

    @abc.abstractmethod
    async def send_interpan(
        self, channel: int, frame: InterPanFrame, band: str = BAND_2_4_GHZ
    ) -> None:
        """Put one Inter-PAN frame on the air on ``channel`` of ``band`` (sub-GHz channel
        numbers overlap the 2.4 GHz ones, so the band is part of the channel)."""

    @abc.abstractmethod
    async def receive_interpan(self, timeout: float) -> ReceivedInterPan | None:
        """The next Inter-PAN frame addressed to this radio, or None after ``timeout``."""

    @abc.abstractmethod
    async def join(self, extended_pan_id: str, link_key: bytes) -> None:
        """Join the network ``extended_pan_id`` using the pre-configured ``link_key``."""

    @abc.abstractmethod
    async def send_aps(self, destination: str, frame: ApsFrame, *, secure: bool = False) -> None:
        """Send one APS frame (at most one MAC frame's payload) to ``destination``; with
        ``secure``, APS-encrypted under the link key the radio holds for it (see
        :meth:`install_link_key`), else under network security only."""

    @abc.abstractmethod
    async def install_link_key(self, peer: EUI64, key: bytes) -> None:
        """Hold ``key`` as the APS link key for ``peer`` (replacing any it held, the
        install-code key from the join included): frames sent with ``secure`` go
        encrypted under it, and frames from ``peer`` secured under it are opened."""

    @abc.abstractmethod
    async def receive_aps(self, timeout: float) -> ReceivedAps | None:
        """The next APS frame for this radio, or None after ``timeout`` seconds."""

    def expect(self, hub_id: str) -> None:  # noqa: B027 - radios that read ids need nothing
        """A hub the installer expects: radios whose scans cannot give extended PAN ids
        probe the beacons they hear for this one."""

    def key_establishment_party(self, peer: EUI64) -> object | None:
        """A party run by the radio's own CBKE engine for key establishment with ``peer``
        over a joined network, or None to use the host's.  It offers what
        :class:`webapp.zigbee.cbke.party.CbkeParty` does to an initiator (``start``,
        ``receive``, ``done``, ``failed``, ``failure``); ``start`` and ``receive`` may be
        coroutines.  The key it agrees stays in the radio."""
        return None

    @property
    def available(self) -> bool:
        """False while the stick is unplugged."""
        return True

    async def reopen(self) -> None:  # noqa: B027 - radios that cannot vanish need nothing
        """Open the stick again after it was unplugged (forgetting any joined network);
        RadioError(STICK_UNPLUGGED) while it is still gone."""

    @abc.abstractmethod
    async def leave(self) -> None:
        """Leave the joined network (nothing to do when not joined)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the radio."""
