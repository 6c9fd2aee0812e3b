"""One simulated Zigbee node's MAC, NWK and APS layers, in bytes.

The HHT's simulated stick and every simulated hub put the same bytes on the air that real
firmware would: 802.15.4 data frames carrying a NWK frame under network security
(AES-CCM* with the network key, the auxiliary header with the sender's frame counter and
EUI-64), carrying an APS frame that is either plain (Key Establishment, ZDO) or secured
under the link key held for the peer.  What comes in is opened the way a real node opens
it, and dropped, and counted, when it fails: a bad NWK MIC or an unknown network key
(``nwk-mic``), a frame counter not above the last one from that sender (``nwk-counter``,
``aps-counter``), APS security under a key the node does not hold for the sender
(``aps-key``), or bytes that do not parse (``malformed``).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from webapp.zigbee.frames.aps import ApsFrame
from webapp.zigbee.frames.mac import BROADCAST_SHORT, MacFrame, MacFrameType, MacHeader
from webapp.zigbee.frames.nwk import NwkHeader
from webapp.zigbee.security.aps import open_aps, secure_aps
from webapp.zigbee.security.errors import SecurityError
from webapp.zigbee.security.header import KeyId
from webapp.zigbee.security.nwk import open_nwk, secure_nwk
from webapp.zigbee.types import EUI64, FrameError

log = logging.getLogger(__name__)

APS_SECURITY_BIT = 0x20
NWK_RADIUS = 30
NWK_BROADCAST_FLOOR = 0xFFF8  # NWK addresses from here up are broadcasts
#: Discover route "enable" (1), as a router sets it on data frames.
NWK_DISCOVER_ROUTE = 1


class CounterSource:
    """Something that hands out outgoing frame counters (persisted or in memory)."""

    def next(self) -> int:  # pragma: no cover - a protocol
        raise NotImplementedError


@dataclass
class MemoryCounter(CounterSource):
    value: int = 0

    def next(self) -> int:
        self.value += 1
        return self.value


@dataclass(frozen=True)
class Opened:
    """An APS frame that came through: who sent it, and the link key that secured it."""

    source: EUI64
    frame: ApsFrame
    key: bytes | None  # None: network security only
    mac_seq: int


@dataclass
class NodeLayers:
    """MAC, NWK and APS for one node of a network (or one about to join it)."""

    eui: EUI64
    link_key_for: Callable[[EUI64], bytes | None]
    nwk_counter: CounterSource = field(default_factory=MemoryCounter)
    aps_counter: CounterSource = field(default_factory=MemoryCounter)
    short: int | None = None
    pan_id: int | None = None
    network_key: bytes | None = None
    key_seq: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    last_nwk_counter: int = 0
    _mac_seq: int = 0
    _nwk_seq: int = 0
    _aps_seq: int = 0
    _last_nwk: dict[EUI64, int] = field(default_factory=dict)
    _last_aps: dict[tuple[EUI64, bytes], int] = field(default_factory=dict)

    # ------------------------------------------------------------ out
    def next_mac_seq(self) -> int:
        self._mac_seq = (self._mac_seq + 1) & 0xFF
        return self._mac_seq

    def next_aps_counter(self) -> int:
        """The APS counter of a frame this node makes itself (join commands, ZDO)."""
        self._aps_seq = (self._aps_seq + 1) & 0xFF
        return self._aps_seq

    def aps_bytes(self, frame: ApsFrame, key: bytes | None) -> bytes:
        """``frame`` as bytes, APS-secured under ``key`` (None: left plain)."""
        if key is None:
            return frame.to_bytes()
        return secure_aps(
            replace(frame.header, security=False),
            frame.payload,
            key=key,
            key_id=KeyId.DATA,
            frame_counter=self.aps_counter.next(),
            source=self.eui,
            extended_nonce=False,
        )

    def _nwk_header(self, dst_short: int, *, security: bool) -> NwkHeader:
        if self.short is None or self.pan_id is None:
            raise RuntimeError("the node has no address in a network")
        self._nwk_seq = (self._nwk_seq + 1) & 0xFF
        return NwkHeader(
            dst=dst_short,
            src=self.short,
            radius=NWK_RADIUS,
            seq=self._nwk_seq,
            discover_route=NWK_DISCOVER_ROUTE,
            security=security,
        )

    def data_frame(
        self,
        dst_short: int,
        aps: bytes,
        *,
        ack_request: bool = True,
        frame_counter: int | None = None,
    ) -> bytes:
        """One MAC data frame to ``dst_short`` carrying ``aps`` under network security,
        with the next outgoing frame counter (or ``frame_counter``: a faulty stick's)."""
        if self.network_key is None:
            raise RuntimeError("the node has no network key")
        if frame_counter is None:
            frame_counter = self.last_nwk_counter = self.nwk_counter.next()
        nwk_raw = secure_nwk(
            self._nwk_header(dst_short, security=False),
            aps,
            key=self.network_key,
            key_seq=self.key_seq,
            frame_counter=frame_counter,
            source=self.eui,
        )
        return self._mac(dst_short, nwk_raw, ack_request)

    def plain_data_frame(self, dst_short: int, aps: bytes) -> bytes:
        """A data frame without NWK security: only the trust centre's Transport Key to a
        node that does not have the network key yet goes like this."""
        return self._mac(dst_short, self._nwk_header(dst_short, security=False).to_bytes() + aps)

    def _mac(self, dst_short: int, nwk_raw: bytes, ack_request: bool = True) -> bytes:
        broadcast = dst_short >= NWK_BROADCAST_FLOOR
        mac = MacHeader(
            frame_type=MacFrameType.DATA,
            seq=self.next_mac_seq(),
            dst_pan=self.pan_id,
            dst=BROADCAST_SHORT if broadcast else dst_short,
            src=self.short,
            ack_request=ack_request and not broadcast,
            pan_id_compression=True,
        )
        return mac.to_bytes() + nwk_raw

    # ------------------------------------------------------------ in
    def _drop(self, reason: str, detail: object = "") -> None:
        self.dropped[reason] += 1
        log.info("%s drops a frame (%s) %s", self.eui, reason, detail)

    def _network_key(self, key_seq: int) -> bytes | None:
        return self.network_key if key_seq == self.key_seq else None

    def open(self, raw: bytes) -> Opened | None:
        """The APS frame in MAC data frame ``raw`` addressed to this node, or None when it
        is not for this node or is dropped (and counted)."""
        try:
            mac = MacFrame.from_bytes(raw)
        except FrameError as exc:
            self._drop("malformed", exc)
            return None
        header = mac.header
        if header.frame_type != MacFrameType.DATA or header.dst_pan != self.pan_id:
            return None
        if header.dst not in (self.short, BROADCAST_SHORT):
            return None
        try:
            nwk, security, aps_raw = open_nwk(mac.payload, self._network_key)
        except SecurityError as exc:
            self._drop("nwk-mic", exc)
            return None
        except FrameError as exc:
            self._drop("malformed", exc)
            return None
        if nwk.dst != self.short and nwk.dst < NWK_BROADCAST_FLOOR:
            return None  # for another node (a router would relay it; these nodes do not)
        source = security.source
        if source is None:
            self._drop("malformed", "NWK security without the sender's address")
            return None
        if security.frame_counter <= self._last_nwk.get(source, -1):
            self._drop("nwk-counter", f"{security.frame_counter} from {source}")
            return None
        self._last_nwk[source] = security.frame_counter
        if not aps_raw or not aps_raw[0] & APS_SECURITY_BIT:
            try:
                return Opened(source, ApsFrame.from_bytes(aps_raw), None, header.seq)
            except FrameError as exc:
                self._drop("malformed", exc)
                return None
        key = self.link_key_for(source)
        if key is None:
            self._drop("aps-key", f"no link key for {source}")
            return None
        try:
            aps, aps_security, payload = open_aps(aps_raw, key=key, source=source)
        except SecurityError as exc:
            self._drop("aps-key", exc)
            return None
        except FrameError as exc:
            self._drop("malformed", exc)
            return None
        last = self._last_aps.get((source, key), -1)
        if aps_security.frame_counter <= last:
            self._drop("aps-counter", f"{aps_security.frame_counter} from {source}")
            return None
        self._last_aps[(source, key)] = aps_security.frame_counter
        frame = ApsFrame(replace(aps, security=False), payload)
        return Opened(source, frame, key, header.seq)


def mac_ack(seq: int) -> bytes:
    """The 802.15.4 acknowledgement of the frame with sequence number ``seq``."""
    return MacHeader(frame_type=MacFrameType.ACK, seq=seq).to_bytes()
