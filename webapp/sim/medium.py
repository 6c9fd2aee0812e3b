"""The simulated radio medium: how long each frame takes on air, and whether it arrives.

Figures for IEEE 802.15.4 with Zigbee PRO.  At 2.4 GHz (250 kbit/s, 32 us per byte) a frame costs
its bytes on air plus the ACK, turnaround, mean initial backoff, CCA and long inter-frame
space: a full 127-byte frame comes to about 6.9 ms.  At 868 MHz (100 kbit/s, 80 us per
byte) a sender listens before it talks and may be on air at most ``DUTY_CYCLE`` of any
``DUTY_WINDOW_S`` per sub-band; a sender whose budget is spent waits until old frames leave
the window.  A sender has one radio: it puts one frame on the air at a time, so a frame
asked for while its previous one is still going out starts when that exchange ends, and
frames from one sender arrive in the order they were sent.  Loss is seeded; a drop at
frame N and interference (extra loss) can be set.  Times are simulated seconds; the medium
never sleeps.

It also holds what every radio on it shares: the channels of each band, how a received
signal strength reads as link quality, and the quick airtime estimate of a whole message
that the benchmarks set against the HHT's software time.
"""

from __future__ import annotations

import logging
import math
import random
from collections import deque
from dataclasses import dataclass, field

from webapp.zigbee.drivers.base import BAND_2_4_GHZ, BAND_868_MHZ
from webapp.zigbee.sizes import MAX_APS_BLOCK

log = logging.getLogger(__name__)

PHY_HEADER_BYTES = 6  # preamble 4, SFD 1, length 1
MAX_PSDU_BYTES = 127
SECONDS_PER_BYTE: dict[str, float] = {BAND_2_4_GHZ: 32e-6, BAND_868_MHZ: 80e-6}
# ACK 352 us + turnaround 192 us + mean backoff 1.12 ms + CCA 128 us + long IFS 640 us.
PER_FRAME_OVERHEAD_S: dict[str, float] = {BAND_2_4_GHZ: 0.002432, BAND_868_MHZ: 0.0004}
LBT_LISTEN_S = 0.00016  # 868 MHz listen-before-talk before each frame
DUTY_CYCLE = 0.01
DUTY_WINDOW_S = 3600.0
CHANNELS: dict[str, tuple[int, int]] = {
    BAND_2_4_GHZ: (11, 26),
    BAND_868_MHZ: (0, 26),  # sub-GHz channel numbers (pages 28-30)
}
RSSI_FLOOR = -95  # dBm at LQI 0
RSSI_SPAN = 60  # dB from LQI 0 to LQI 255
#: APS payload octets per full frame under NWK and APS security (webapp.zigbee.sizes).
APS_PAYLOAD_BYTES_PER_FRAME = MAX_APS_BLOCK


def channels_of(band: str) -> range:
    """The channel numbers of ``band``."""
    low, high = CHANNELS[band]
    return range(low, high + 1)


def lqi_for(rssi: int) -> int:
    """The link quality (0-255) a receiver reports for a signal of ``rssi`` dBm."""
    return max(0, min(255, round((rssi - RSSI_FLOOR) * 255 / RSSI_SPAN)))


def frames_for(n_bytes: int) -> int:
    """APS frames needed to carry ``n_bytes`` of APS payload (at least one)."""
    return max(1, math.ceil(n_bytes / APS_PAYLOAD_BYTES_PER_FRAME))


def modelled_airtime(n_bytes: int, band: str = BAND_2_4_GHZ) -> float:
    """Seconds on air to carry ``n_bytes`` of APS payload one hop on ``band``, no losses:
    full secured frames, each with its ACK, turnaround, backoff and spacing (about 6.7 ms
    at 2.4 GHz, 11 ms at 868 MHz)."""
    if band not in SECONDS_PER_BYTE:
        raise ValueError(f"unknown radio band {band!r}")
    return frames_for(n_bytes) * Medium.exchange_time(MAX_PSDU_BYTES, band)


class FrameDropped(Exception):
    """The link went down at this frame; it and everything after it is lost."""


@dataclass
class Transmission:
    start: float
    airtime: float  # the sender's own on-air time (counts against its duty cycle)
    end: float  # when the exchange (with ACK and spacing) is over
    delivered: bool


@dataclass
class Medium:
    """Frames on the air, for every simulated radio at one place."""

    frame_loss: float = 0.0
    seed: int = 0
    drop_at_frame: int | None = None
    interference: float = 0.0  # extra loss probability while something jams the channel
    duty_cycle: float = DUTY_CYCLE
    duty_window: float = DUTY_WINDOW_S
    frames_sent: int = 0
    _rng: random.Random = field(init=False, repr=False)
    _history: dict[tuple[str, str, int], deque[tuple[float, float]]] = field(
        init=False, repr=False, default_factory=dict
    )
    _busy_until: dict[str, float] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.frame_loss < 1.0 or not 0.0 <= self.interference < 1.0:
            raise ValueError("loss probabilities must be in [0, 1)")
        self._rng = random.Random(self.seed)

    @staticmethod
    def frame_airtime(psdu_bytes: int, band: str) -> float:
        """Seconds the sender is on air for one frame of ``psdu_bytes`` (MAC header to FCS)."""
        if not 0 < psdu_bytes <= MAX_PSDU_BYTES:
            raise ValueError(f"a frame carries 1..{MAX_PSDU_BYTES} bytes, not {psdu_bytes}")
        return (PHY_HEADER_BYTES + psdu_bytes) * SECONDS_PER_BYTE[band]

    @staticmethod
    def exchange_time(psdu_bytes: int, band: str) -> float:
        """Seconds one acknowledged frame occupies the channel, spacing included."""
        extra = LBT_LISTEN_S if band == BAND_868_MHZ else 0.0
        return Medium.frame_airtime(psdu_bytes, band) + PER_FRAME_OVERHEAD_S[band] + extra

    def duty_used(self, sender: str, band: str, sub_band: int, now: float) -> float:
        """Seconds ``sender`` has been on air in the window ending at ``now``."""
        history = self._history.get((sender, band, sub_band), deque())
        return sum(air for start, air in history if start + self.duty_window > now)

    def _earliest_start(
        self, sender: str, band: str, sub_band: int, now: float, air: float
    ) -> float:
        if band != BAND_868_MHZ:
            return now
        history = self._history.setdefault((sender, band, sub_band), deque())
        budget = self.duty_cycle * self.duty_window
        start = now
        while history and history[0][0] + self.duty_window <= start:
            history.popleft()
        used = sum(a for _, a in history)
        for old_start, old_air in list(history):
            if used + air <= budget:
                break
            used -= old_air
            start = max(start, old_start + self.duty_window)
        return start

    def transmit(
        self,
        sender: str,
        psdu_bytes: int,
        band: str,
        now: float,
        sub_band: int = 0,
        *,
        queued: bool = True,
    ) -> Transmission:
        """Send one frame at or after ``now``, after the sender's previous frame unless
        ``queued`` is False (a sender that waited for its own frames itself); raises
        :class:`FrameDropped` at the drop frame."""
        self.frames_sent += 1
        if self.drop_at_frame is not None and self.frames_sent >= self.drop_at_frame:
            raise FrameDropped(f"link dropped at frame {self.frames_sent}")
        air = self.frame_airtime(psdu_bytes, band)
        free = max(now, self._busy_until.get(sender, now)) if queued else now
        start = self._earliest_start(sender, band, sub_band, free, air)
        if start > free:
            log.debug("%s waits %.1f s for its 868 MHz duty cycle", sender, start - free)
        if band == BAND_868_MHZ:
            self._history[(sender, band, sub_band)].append((start, air))
        loss = 1.0 - (1.0 - self.frame_loss) * (1.0 - self.interference)
        delivered = self._rng.random() >= loss
        end = start + self.exchange_time(psdu_bytes, band)
        self._busy_until[sender] = end
        return Transmission(start=start, airtime=air, end=end, delivered=delivered)
