"""ZCL payloads to and from one joined peer over APS, fragmenting what does not fit a frame.

A payload that fits one APS frame goes as one frame (the MAC acknowledges it).  A longer
one goes as blocks of ``MAX_APS_BLOCK`` octets, ``APS_WINDOW`` at a time; the receiver
acknowledges each window with a bitfield and the sender resends what is missing, giving up
(link lost) after ``APS_MAX_RETRIES`` silent waits.  Incoming blocks are reassembled and
acknowledged the same way.  Frames that do not decode, or come from anyone but the peer,
are dropped: radio frames are untrusted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass

from webapp.zigbee.drivers.base import ErrorCode, RadioError
from webapp.zigbee.drivers.frames_base import FrameRadio
from webapp.zigbee.frames import key_establishment
from webapp.zigbee.frames.aps import ApsFrame, ApsFrameType, ApsHeader, Fragmentation
from webapp.zigbee.frames.fragmentation import (
    OutgoingTransfer,
    Reassembler,
    ack_header,
    block_index,
)
from webapp.zigbee.sizes import (
    APS_WINDOW,
    HHT_ENDPOINT,
    HUB_ENDPOINT,
    MAX_APS_BLOCK,
    SMART_ENERGY_PROFILE,
)
from webapp.zigbee.types import FrameError

log = logging.getLogger(__name__)

APS_MAX_RETRIES = 3
#: How long an ack waiter sleeps between looks while another task reads the radio.
ACK_WAIT_SLICE_SECONDS = 0.05


@dataclass(frozen=True)
class Incoming:
    cluster_id: int
    payload: bytes


class ApsTransport:
    """Whole ZCL payloads to and from ``peer`` (an EUI-64 in hex) over ``radio``."""

    def __init__(self, radio: FrameRadio, peer: str, ack_timeout: float) -> None:
        self.radio = radio
        self.peer = peer.upper()
        self.ack_timeout = ack_timeout
        self._counter = 0
        self._reassembler = Reassembler()
        self._inbox: deque[Incoming] = deque()
        self._acks: deque[ApsHeader] = deque()
        self._ack_arrived = asyncio.Event()
        self._reading = asyncio.Lock()  # one reader of the radio at a time
        #: Once the CBKE key is in the radio: every frame but Key Establishment goes
        #: APS-secured, and unsecured ones from the peer are dropped.
        self.secure = False
        self.dropped_unsecured = 0
        self.frames_in = 0
        self.frames_out = 0

    def _next_counter(self) -> int:
        self._counter = (self._counter + 1) & 0xFF
        return self._counter

    async def send(self, cluster_id: int, payload: bytes, *, secure: bool | None = None) -> None:
        """Send ``payload`` to the peer; APS-secured as :attr:`secure` says for
        ``cluster_id``, unless ``secure`` says otherwise for this payload."""
        header = ApsHeader(
            frame_type=ApsFrameType.DATA,
            counter=self._next_counter(),
            dst_endpoint=HUB_ENDPOINT,
            cluster_id=cluster_id,
            profile_id=SMART_ENERGY_PROFILE,
            src_endpoint=HHT_ENDPOINT,
        )
        transfer = OutgoingTransfer(header, payload, MAX_APS_BLOCK, APS_WINDOW)
        if secure is None:
            secure = self._secured(cluster_id)
        if transfer.total == 1:
            await self._send_frame(transfer.frames[0], secure)
            return
        silent = 0
        while not transfer.done:
            for frame in transfer.pending():
                await self._send_frame(frame, secure)
            ack = await self._await_ack(header.counter)
            if ack is None:
                silent += 1
                if silent > APS_MAX_RETRIES:
                    # every block went out and was taken by the hub's radio (a frame the
                    # radio could not deliver raises LINK_LOST itself): the hub drops them
                    raise RadioError(
                        ErrorCode.FRAMES_IGNORED,
                        f"no APS acknowledgement from {self.peer} for blocks it received",
                    )
                continue
            silent = 0
            transfer.on_ack(ack)

    def _secured(self, cluster_id: int | None) -> bool:
        return self.secure and cluster_id != key_establishment.CLUSTER_ID

    async def _send_frame(self, frame: ApsFrame, secure: bool) -> None:
        self.frames_out += 1
        await self.radio.send_aps(self.peer, frame, secure=secure)

    async def _await_ack(self, counter: int) -> ApsHeader | None:
        """The ack for transfer ``counter``, or None after ``ack_timeout``.  Another task
        (the link's receive loop) may be the one reading the radio when it arrives: then
        it is waited for on the ack event instead of by reading."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ack_timeout
        while True:
            for ack in list(self._acks):
                self._acks.remove(ack)
                if ack.counter == counter:
                    return ack
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            slice_ = min(remaining, ACK_WAIT_SLICE_SECONDS)
            if self._reading.locked():
                self._ack_arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._ack_arrived.wait(), slice_)
            else:
                await self._pump(slice_)

    async def receive(self, timeout: float) -> Incoming | None:
        """The next whole payload from the peer, or None after ``timeout`` real seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        while not self._inbox:
            remaining = deadline - loop.time()
            if not await self._pump(max(0.0, remaining)) and remaining <= 0:
                return None
        return self._inbox.popleft()

    async def _pump(self, timeout: float) -> bool:
        """Take one frame from the radio; False when none came within ``timeout``."""
        async with self._reading:
            received = await self.radio.receive_aps(timeout)
        if received is None:
            return False
        self.frames_in += 1
        if received.source.upper() != self.peer:
            log.info("dropping an APS frame from %s (talking to %s)", received.source, self.peer)
            return True
        frame = received.frame
        header = frame.header
        if received.secured is False and self._secured(header.cluster_id):
            self.dropped_unsecured += 1
            log.info("dropping an APS frame from %s without APS security", self.peer)
            return True
        if header.frame_type == ApsFrameType.ACK:
            self._acks.append(header)
            self._ack_arrived.set()
            return True
        if header.frame_type != ApsFrameType.DATA or header.cluster_id is None:
            return True
        if header.fragmentation == Fragmentation.NONE:
            self._inbox.append(Incoming(header.cluster_id, frame.payload))
            return True
        try:
            whole = self._reassembler.feed(self.peer, frame)
        except FrameError as exc:
            log.info("dropping an APS block from %s: %s", self.peer, exc)
            return True
        transfer = self._reassembler.transfer(self.peer, header.counter)
        index = block_index(header)
        done = whole is not None or self._reassembler.finished(self.peer, header.counter)
        if done or (index + 1) % APS_WINDOW == 0:
            first = index // APS_WINDOW * APS_WINDOW
            bits = transfer.ack_bitfield(first, APS_WINDOW) if transfer else 0xFF
            ack = ApsFrame(ack_header(header, first, bits))
            await self._send_frame(ack, self._secured(header.cluster_id))
        if whole is not None:
            self._inbox.append(Incoming(header.cluster_id, whole))
        return True
