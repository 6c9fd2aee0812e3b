"""The radio link model: airtime per message, frame loss, and a link that can drop.

Figures from DOMAIN.md section 3: about 82 APS payload bytes per frame; a full frame with
its ACK, turnaround, backoff and inter-frame space takes about 6.9 ms at 2.4 GHz and about
11 ms at 868 MHz.  A lost frame is retried by the MAC up to ``MAC_MAX_RETRIES`` times, each
retry costing another frame time; a frame lost on every try drops the link.
"""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass, field

from webapp.zigbee.drivers.base import BAND_2_4_GHZ, BAND_868_MHZ

log = logging.getLogger(__name__)

APS_PAYLOAD_BYTES_PER_FRAME = 82
FRAME_SECONDS: dict[str, float] = {
    BAND_2_4_GHZ: 0.0069,
    BAND_868_MHZ: 0.011,
}
MAC_MAX_RETRIES = 3
# GB-HRGP byte, ZCL header (3) and tunnel id (2) in front of every GBCS message.
TUNNEL_OVERHEAD_BYTES = 6


def frames_for(n_bytes: int) -> int:
    """APS frames needed to carry ``n_bytes`` of APS payload (at least one)."""
    return max(1, math.ceil(n_bytes / APS_PAYLOAD_BYTES_PER_FRAME))


def modelled_airtime(n_bytes: int, band: str = BAND_2_4_GHZ) -> float:
    """Seconds on air to carry ``n_bytes`` of APS payload one hop on ``band``, no losses."""
    try:
        per_frame = FRAME_SECONDS[band]
    except KeyError:
        raise ValueError(f"unknown radio band {band!r}") from None
    return frames_for(n_bytes) * per_frame


class LinkDropped(Exception):
    """The link went down; nothing more passes until a new connection."""


@dataclass
class LinkModel:
    """One connection's frames: counts them, loses some, and can drop at a chosen frame.

    ``transfer`` returns the airtime a message took (retries included) or raises
    :class:`LinkDropped`, in which case the message did not arrive.
    """

    band: str = BAND_2_4_GHZ
    frame_loss: float = 0.0
    seed: int = 0
    frames_sent: int = 0
    dropped: bool = False
    drop_at_frame: int | None = None
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.frame_loss < 1.0:
            raise ValueError("frame_loss must be in [0, 1)")
        self._rng = random.Random(self.seed)

    def drop(self, after_frames: int = 0) -> None:
        """Drop the link now, or after ``after_frames`` more frames have been sent."""
        if after_frames <= 0:
            self.dropped = True
        else:
            self.drop_at_frame = self.frames_sent + after_frames

    def transfer(self, n_bytes: int) -> float:
        if self.dropped:
            raise LinkDropped("link already down")
        per_frame = modelled_airtime(1, self.band)
        airtime = 0.0
        for _ in range(frames_for(n_bytes + TUNNEL_OVERHEAD_BYTES)):
            if self.drop_at_frame is not None and self.frames_sent >= self.drop_at_frame:
                self.dropped = True
                raise LinkDropped(f"link dropped at frame {self.frames_sent}")
            self.frames_sent += 1
            for _attempt in range(MAC_MAX_RETRIES + 1):
                airtime += per_frame
                if self._rng.random() >= self.frame_loss:
                    break
            else:
                self.dropped = True
                raise LinkDropped(f"frame {self.frames_sent} lost on every retry")
        return airtime
