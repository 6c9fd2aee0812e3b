"""A ConBee on a pseudo-terminal, in front of the simulated HAN.

:class:`DeconzEmulator` holds the master side of a pty and speaks the deCONZ serial protocol
on it: SLIP framing with the deCONZ checksum, the commands zigpy-deconz sends (VERSION,
READ/WRITE_PARAMETER, DEVICE_STATE, CHANGE_NETWORK_STATE, APS data request, confirm and
indication, the device-state-changed notice) and the Inter-PAN and beacon commands as
:mod:`webapp.zigbee.drivers.deconz.frames` defines them.  Radio work goes to a
:class:`~webapp.sim.radio.SimFrameRadio`, so the simulated hubs answer a
driver that runs the real zigpy-deconz code:

* START_INTERPAN with the scan option: an active scan of that channel, each beacon
  reported as 0x1F without its extended PAN id (as a ConBee's beacon indication has none);
* SEND_INTERPAN: ``sim.send_interpan``; what the sim radio hears comes back as
  INTERPAN_INDICATION while the stick listens (Inter-PAN mode, or joined);
* CHANGE_NETWORK_STATE connected: ``sim.join`` with the written trust-centre link key;
* WRITE_PARAMETER link key (0x19: EUI-64, key): the stick's key for that peer, handed to
  ``sim.install_link_key`` before the write is answered;
* APS data requests: whole payloads, fragmented and acknowledged by an
  :class:`~webapp.zigbee.aps_transport.ApsTransport` as a stick's firmware would, APS-secured
  under the peer's link key when the request's transmit options have SECURITY_ENABLED
  (and only then); incoming transfers are reassembled and offered as one APS indication
  (which, as on a ConBee, does not say whether the frame came APS-secured).

The driver opens :attr:`DeconzEmulator.path`, a stable link to the current pty (like a
udev by-id link), so a replugged stick is found again at the same path.  Tests can
:meth:`~DeconzEmulator.unplug` and :meth:`~DeconzEmulator.replug` it, make it unplug itself
mid-send, write garbage before every frame (:attr:`~DeconzEmulator.noise`), inject any bytes,
and start it as a firmware without Inter-PAN, or as a faulty firmware that takes link keys
(SUCCESS) but never uses them (``apply_link_keys=False``): it goes on securing with the
install-code key of the join.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tty
from collections import Counter, deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from webapp.sim.han.han import REAL_TIMEOUT_MARGIN_S, SIM_APS_ACK_TIMEOUT_S
from webapp.sim.medium import lqi_for
from webapp.sim.radio import SimFrameRadio
from webapp.zigbee.aps_transport import ApsTransport
from webapp.zigbee.drivers.base import Beacon, RadioError
from webapp.zigbee.drivers.deconz.frames import (
    BeaconFlags,
    BeaconIndication,
    Command,
    DeviceStateFlags,
    ExtraCommand,
    FirmwarePlatform,
    InterPanConfirm,
    InterPanIndication,
    InterPanRequest,
    InterPanStart,
    NetworkParameter,
    NetworkState,
    RawFrame,
    Status,
    TransmitOptions,
    device_state,
)
from webapp.zigbee.sizes import HHT_ENDPOINT, HUB_ENDPOINT, MAX_APS_BLOCK, SMART_ENERGY_PROFILE
from webapp.zigbee.types import EUI64, FrameError, Reader, u8, u16, u32

log = logging.getLogger(__name__)

END, ESC, ESC_END, ESC_ESC = 0xC0, 0xDB, 0xDC, 0xDD
DEFAULT_FIRMWARE = 0x26780700  # a ConBee II firmware number
DEFAULT_PROTOCOL = 0x010B
CHANNELS = range(11, 27)
#: Real seconds between looks at the simulated radio for frames to the stick.
INTERPAN_POLL_SECONDS = 0.01
APS_POLL_SECONDS = 0.01
READ_SIZE = 4096
UNSOLICITED_SEQ = 0  # zigpy-deconz numbers its commands 1..255
#: Send confirm statuses (APS status values).
CONFIRM_SUCCESS = 0x00
CONFIRM_NO_ACK = 0xA7
CONFIRM_ASDU_TOO_LONG = 0xA0
CONFIRM_CHANNEL_ACCESS_FAILURE = 0xE1
CONFIRM_NO_ROUTE = 0xD0
#: deCONZ address modes in APS frames.
MODE_GROUP, MODE_NWK, MODE_IEEE, MODE_NWK_AND_IEEE = 0x01, 0x02, 0x03, 0x04
INCLUDE_BOTH_NWK_AND_IEEE = 0x04
COORDINATOR_NWK = 0x0000
HHT_NWK = 0x4A7F
RELAYS_FLAG = 0x02
ALLOW_FRAGMENTATION = TransmitOptions.ALLOW_FRAGMENTATION
SECURITY_ENABLED = TransmitOptions.SECURITY_ENABLED
#: Parameter lengths the stick accepts in WRITE_PARAMETER.
PARAMETER_SIZES = {
    NetworkParameter.MAC_ADDRESS: 8,
    NetworkParameter.NWK_PANID: 2,
    NetworkParameter.NWK_ADDRESS: 2,
    NetworkParameter.NWK_EXTENDED_PANID: 8,
    NetworkParameter.APS_DESIGNED_COORDINATOR: 1,
    NetworkParameter.CHANNEL_MASK: 4,
    NetworkParameter.APS_EXTENDED_PANID: 8,
    NetworkParameter.TRUST_CENTER_ADDRESS: 8,
    NetworkParameter.SECURITY_MODE: 1,
    NetworkParameter.USE_PREDEFINED_NWK_PANID: 1,
    NetworkParameter.LINK_KEY: 24,
    NetworkParameter.CURRENT_CHANNEL: 1,
    NetworkParameter.PERMIT_JOIN: 1,
    NetworkParameter.NWK_UPDATE_ID: 1,
    NetworkParameter.WATCHDOG_TTL: 4,
    NetworkParameter.NWK_FRAME_COUNTER: 4,
    NetworkParameter.APP_ZDP_RESPONSE_HANDLING: 2,
}


def checksum(frame: bytes) -> bytes:
    """The deCONZ frame checksum: the two's complement of the octet sum, LSB first."""
    return u16(-sum(frame) & 0xFFFF)


def wire(frame: bytes) -> bytes:
    """``frame`` as it goes on the serial line: checksum added, escaped, between ENDs."""
    out = bytearray([END])
    for octet in frame + checksum(frame):
        if octet == END:
            out += bytes([ESC, ESC_END])
        elif octet == ESC:
            out += bytes([ESC, ESC_ESC])
        else:
            out.append(octet)
    out.append(END)
    return bytes(out)


def unwire(chunk: bytes) -> bytes | None:
    """The frame in one chunk between ENDs; None when it is cut short or its checksum is off."""
    out = bytearray()
    escaped = False
    for octet in chunk:
        if escaped:
            out.append(END if octet == ESC_END else ESC if octet == ESC_ESC else octet)
            escaped = False
        elif octet == ESC:
            escaped = True
        else:
            out.append(octet)
    if escaped or len(out) < 4:
        return None
    frame, check = bytes(out[:-2]), bytes(out[-2:])
    return frame if checksum(frame) == check else None


@dataclass(frozen=True)
class _DataRequest:
    request_id: int
    dst_mode: int
    dst: EUI64 | int
    dst_endpoint: int
    profile_id: int
    cluster_id: int
    src_endpoint: int
    asdu: bytes
    tx_options: int

    @classmethod
    def parse(cls, body: bytes) -> _DataRequest:
        r = Reader(body, "APS data request")
        request_id, flags, mode = r.u8(), r.u8(), r.u8()
        endpoint = 0
        dst: EUI64 | int
        if mode == MODE_GROUP:
            dst = r.u16()
        elif mode == MODE_NWK:
            dst, endpoint = r.u16(), r.u8()
        elif mode == MODE_IEEE:
            dst, endpoint = r.eui64(), r.u8()
        elif mode == MODE_NWK_AND_IEEE:
            r.u16()
            dst, endpoint = r.eui64(), r.u8()
        else:
            raise FrameError(f"unknown address mode {mode:#04x}")
        profile, cluster, src_endpoint = r.u16(), r.u16(), r.u8()
        asdu = r.take(r.u16())
        tx_options, _radius = r.u8(), r.u8()
        if flags & RELAYS_FLAG:
            r.take(2 * r.u8())
        return cls(
            request_id, mode, dst, endpoint, profile, cluster, src_endpoint, asdu, tx_options
        )


@dataclass(frozen=True)
class _Confirm:
    request: _DataRequest
    status: int


@dataclass(frozen=True)
class _Indication:
    source: EUI64
    cluster_id: int
    asdu: bytes
    lqi: int
    rssi: int


Handler = Callable[[bytes], None]


class DeconzEmulator:
    """A ConBee at :attr:`path`, bridged to ``sim``; call :meth:`plug` in the event loop."""

    def __init__(
        self,
        sim: SimFrameRadio,
        directory: Path | str,
        *,
        name: str = "ttyACM-ConBee",
        firmware_without_interpan: bool = False,
        platform: FirmwarePlatform = FirmwarePlatform.CONBEE_II,
        firmware_version: int = DEFAULT_FIRMWARE,
        protocol_version: int = DEFAULT_PROTOCOL,
        apply_link_keys: bool = True,
    ) -> None:
        self.sim = sim
        self.path = str(Path(directory) / name)
        self.firmware_without_interpan = firmware_without_interpan
        #: False: a faulty firmware that answers the link-key write SUCCESS, then ignores it.
        self.apply_link_keys = apply_link_keys
        version = firmware_version & ~0xFF00 | int(platform) << 8
        self.firmware_version = version
        self.protocol_version = protocol_version
        scale = sim.han.clock.time_scale
        self.aps_ack_timeout = SIM_APS_ACK_TIMEOUT_S / scale + REAL_TIMEOUT_MARGIN_S
        #: Called with each frame about to go to the host; what it returns goes first.
        self.noise: Callable[[bytes], bytes] | None = None
        self.commands: Counter[int] = Counter()
        #: APS data requests taken for the air, by (cluster, transmit options).
        self.tx_options: Counter[tuple[int, int]] = Counter()
        #: The link-key WRITE_PARAMETER frames the host sent, as they came (no checksum).
        self.link_key_writes: list[bytes] = []
        self.indication_flags: set[int] = set()  # what the host asked APS indications with
        self.bad_frames = 0
        self.plugs = 0
        self._master: int | None = None
        self._slave: int | None = None
        self._in = bytearray()
        self._out = bytearray()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._aps_lock = asyncio.Lock()
        self._unplug_after: int | None = None
        self._handlers: dict[int, Handler] = {
            Command.VERSION: self._version,
            Command.READ_PARAMETER: self._read_parameter,
            Command.WRITE_PARAMETER: self._write_parameter,
            Command.DEVICE_STATE: self._device_state,
            Command.CHANGE_NETWORK_STATE: self._change_network_state,
            Command.APS_DATA_REQUEST: self._aps_data_request,
            Command.APS_DATA_CONFIRM: self._aps_data_confirm,
            Command.APS_DATA_INDICATION: self._aps_data_indication,
            ExtraCommand.START_INTERPAN: self._start_interpan,
            ExtraCommand.SEND_INTERPAN: self._send_interpan,
        }
        self._power_on()

    # ------------------------------------------------------------ the plug
    @property
    def plugged(self) -> bool:
        return self._master is not None

    def plug(self) -> None:
        """Plug the stick in (a fresh power-up): a new pty behind :attr:`path`."""
        if self.plugged:
            return
        loop = asyncio.get_running_loop()
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        os.symlink(os.ttyname(slave), self.path)
        self._master, self._slave = master, slave
        self._power_on()
        loop.add_reader(master, self._readable)
        self._spawn(self._interpan_pump())
        self.plugs += 1
        log.info("emulated ConBee plugged in at %s (%s)", self.path, os.ttyname(slave))

    replug = plug

    def unplug(self) -> None:
        """Pull the stick out: the pty closes and :attr:`path` goes away."""
        if self._master is None:
            return
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._master)
        loop.remove_writer(self._master)
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        self._power_on()
        self._spawn(self.sim.leave())
        log.info("emulated ConBee unplugged from %s", self.path)

    async def close(self) -> None:
        self.unplug()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def unplug_after_requests(self, count: int) -> None:
        """The stick is pulled out after putting the ``count``-th APS data request from now
        on air, before it answers the host."""
        self._unplug_after = count

    def _power_on(self) -> None:
        self._in.clear()
        self._out.clear()
        self._network = NetworkState.OFFLINE
        self._interpan_channel: int | None = None
        self._channel = 11
        self._pan_id = 0xFFFF
        self._nwk = 0xFFFE
        self._extended_pan_id = bytes(8)
        self._transport: ApsTransport | None = None
        self._confirms: deque[_Confirm] = deque()
        self._indications: deque[_Indication] = deque()
        self._link_keys: dict[bytes, bytes] = {}
        self._mac_seq = 0
        self._parameters: dict[int, bytes] = {
            NetworkParameter.APS_DESIGNED_COORDINATOR: u8(1),
            NetworkParameter.CHANNEL_MASK: u32(0x07FFF800),
            NetworkParameter.APS_EXTENDED_PANID: bytes(8),
            NetworkParameter.TRUST_CENTER_ADDRESS: bytes(8),
            NetworkParameter.SECURITY_MODE: u8(3),
            NetworkParameter.USE_PREDEFINED_NWK_PANID: u8(0),
            NetworkParameter.PERMIT_JOIN: u8(0),
            NetworkParameter.NWK_UPDATE_ID: u8(0),
            NetworkParameter.WATCHDOG_TTL: u32(0),
            NetworkParameter.NWK_FRAME_COUNTER: u32(0),
            NetworkParameter.APP_ZDP_RESPONSE_HANDLING: u16(0),
        }

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("emulated ConBee task failed", exc_info=task.exception())

    # ------------------------------------------------------------ the serial line
    def inject(self, raw: bytes) -> None:
        """Put ``raw`` on the line to the host as it is (garbage, half frames ...)."""
        self._out += raw
        self._flush()

    def _send(self, frame: RawFrame, *, payload_length: bool = True) -> None:
        if self._master is None:
            return
        raw = wire(frame.to_bytes(payload_length=payload_length))
        if self.noise is not None:
            self._out += self.noise(raw)
        self._out += raw
        self._flush()

    def _flush(self) -> None:
        master = self._master
        if master is None:
            self._out.clear()
            return
        while self._out:
            try:
                written = os.write(master, self._out)
            except BlockingIOError:
                asyncio.get_running_loop().add_writer(master, self._flush)
                return
            except OSError as exc:
                log.info("emulated ConBee cannot write: %s", exc)
                self._out.clear()
                break
            del self._out[:written]
        asyncio.get_running_loop().remove_writer(master)

    def _readable(self) -> None:
        if self._master is None:
            return
        try:
            data = os.read(self._master, READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            log.debug("emulated ConBee read: %s", exc)
            return
        self._in += data
        while (end := self._in.find(END)) >= 0:
            chunk = bytes(self._in[:end])
            del self._in[: end + 1]
            if not chunk:
                continue
            frame = unwire(chunk)
            if frame is None:
                self.bad_frames += 1
                continue
            self._dispatch(frame)

    def _dispatch(self, frame: bytes) -> None:
        command_id = frame[0]
        self.commands[command_id] += 1
        handler = self._handlers.get(command_id)
        if handler is None:
            log.info("emulated ConBee ignores command %#04x", command_id)
            return
        try:
            handler(frame)
        except ValueError as exc:  # FrameError, or a field out of range
            self.bad_frames += 1
            log.info("emulated ConBee drops command %#04x: %s", command_id, exc)

    def _answer(
        self, request: bytes, status: int, body: bytes, *, payload_length: bool = True
    ) -> None:
        self._send(RawFrame(request[0], request[1], status, body), payload_length=payload_length)

    # ------------------------------------------------------------ device state
    def _state(self) -> bytes:
        flags = DeviceStateFlags.APSDE_DATA_REQUEST_FREE_SLOTS_AVAILABLE
        if self._confirms:
            flags |= DeviceStateFlags.APSDE_DATA_CONFIRM
        if self._indications:
            flags |= DeviceStateFlags.APSDE_DATA_INDICATION
        return device_state(self._network, flags)

    def _push_state(self) -> None:
        body = self._state() + u8(0)
        frame = RawFrame(Command.DEVICE_STATE_CHANGED, UNSOLICITED_SEQ, Status.SUCCESS, body)
        self._send(frame, payload_length=False)

    def _version(self, request: bytes) -> None:
        RawFrame.from_bytes(request, payload_length=False)
        self._answer(request, Status.SUCCESS, u32(self.firmware_version), payload_length=False)

    def _device_state(self, request: bytes) -> None:
        RawFrame.from_bytes(request, payload_length=False)
        self._answer(request, Status.SUCCESS, self._state() + u8(0) + u8(0), payload_length=False)

    # ------------------------------------------------------------ parameters
    def _parameter(self, parameter: int, argument: bytes) -> bytes | None:
        dynamic = {
            NetworkParameter.MAC_ADDRESS: self.sim.eui.le,
            NetworkParameter.NWK_PANID: u16(self._pan_id),
            NetworkParameter.NWK_ADDRESS: u16(self._nwk),
            NetworkParameter.NWK_EXTENDED_PANID: self._extended_pan_id,
            NetworkParameter.CURRENT_CHANNEL: u8(self._channel),
            NetworkParameter.PROTOCOL_VERSION: u16(self.protocol_version),
        }
        if parameter in dynamic:
            return dynamic[parameter]
        if parameter == NetworkParameter.LINK_KEY:
            key = self._link_keys.get(argument)
            return None if key is None else argument + key
        return self._parameters.get(parameter)

    def _read_parameter(self, request: bytes) -> None:
        r = Reader(RawFrame.from_bytes(request).body, "READ_PARAMETER")
        parameter = r.u8()
        value = self._parameter(parameter, r.rest())
        if value is None:
            self._answer(request, Status.UNSUPPORTED, u8(parameter))
            return
        self._answer(request, Status.SUCCESS, u8(parameter) + value)

    def _write_parameter(self, request: bytes) -> None:
        r = Reader(RawFrame.from_bytes(request).body, "WRITE_PARAMETER")
        parameter = r.u8()
        value = r.rest()
        size = PARAMETER_SIZES.get(parameter)  # type: ignore[call-overload]
        if size is None:
            self._answer(request, Status.UNSUPPORTED, u8(parameter))
            return
        if len(value) != size:
            self._answer(request, Status.INVALID_VALUE, u8(parameter))
            return
        if parameter == NetworkParameter.LINK_KEY:
            self.link_key_writes.append(request)
            self._link_keys[value[:8]] = value[8:]
            if self.apply_link_keys:
                self._spawn(self._apply_link_key(request, value[:8], value[8:]))
                return
        elif parameter == NetworkParameter.MAC_ADDRESS:
            self._answer(request, Status.UNSUPPORTED, u8(parameter))  # the sim radio's own
            return
        else:
            self._parameters[parameter] = value
        self._answer(request, Status.SUCCESS, u8(parameter))

    async def _apply_link_key(self, request: bytes, peer: bytes, key: bytes) -> None:
        """The radio secures with the written key from now on; then the write is answered."""
        status = Status.SUCCESS
        try:
            await self.sim.install_link_key(EUI64.from_le(peer), key)
        except RadioError as exc:
            log.info("emulated ConBee could not hold the link key: %s", exc)
            status = Status.ERROR
        self._answer(request, status, u8(NetworkParameter.LINK_KEY))

    # ------------------------------------------------------------ network
    def _change_network_state(self, request: bytes) -> None:
        body = RawFrame.from_bytes(request, payload_length=False).body
        wanted = Reader(body, "CHANGE_NETWORK_STATE").u8()
        self._answer(request, Status.SUCCESS, u8(wanted), payload_length=False)
        if wanted == NetworkState.CONNECTED and self._network == NetworkState.OFFLINE:
            self._network = NetworkState.JOINING
            self._spawn(self._join())
        elif wanted == NetworkState.OFFLINE and self._network != NetworkState.OFFLINE:
            self._spawn(self._leave())

    async def _join(self) -> None:
        hub = EUI64.from_le(self._parameters[NetworkParameter.APS_EXTENDED_PANID])
        trust_centre = self._parameters[NetworkParameter.TRUST_CENTER_ADDRESS]
        key = self._link_keys.get(trust_centre)
        mask = int.from_bytes(self._parameters[NetworkParameter.CHANNEL_MASK], "little")
        row = self.sim.han.hubs.hub(str(hub))
        reason = ""
        if key is None or EUI64.from_le(trust_centre) != hub:
            reason = "no link key for the trust centre"
        elif row is not None and not mask >> row["channel"] & 1:
            reason = f"channel {row['channel']} is not in the channel mask"
        else:
            try:
                await self.sim.join(str(hub), key)
            except RadioError as exc:
                reason = str(exc)
        if reason or self._network != NetworkState.JOINING:
            log.info("emulated ConBee did not join %s: %s", hub, reason or "left meanwhile")
            self._network = NetworkState.OFFLINE
            self._push_state()
            return
        assert row is not None
        self._network = NetworkState.CONNECTED
        self._extended_pan_id = hub.le
        self._pan_id, self._channel, self._nwk = row["pan_id"], row["channel"], HHT_NWK
        self._interpan_channel = None
        self._transport = ApsTransport(self.sim, str(hub), self.aps_ack_timeout)
        self._spawn(self._aps_pump(self._transport))
        self._push_state()

    async def _leave(self) -> None:
        self._network_lost()
        await self.sim.leave()

    def _network_lost(self) -> None:
        self._transport = None
        self._network = NetworkState.OFFLINE
        self._indications.clear()
        self._push_state()

    async def _aps_pump(self, transport: ApsTransport) -> None:
        """Whole payloads from the joined hub, offered to the host as APS indications."""
        hub = EUI64.from_hex(transport.peer)
        row = self.sim.han.hubs.hub(transport.peer)
        rssi = -60 if row is None else row["rssi"]
        while self._transport is transport:
            async with self._aps_lock:
                try:
                    incoming = await transport.receive(APS_POLL_SECONDS)
                except RadioError as exc:
                    log.info("emulated ConBee lost the network: %s", exc)
                    if self._transport is transport:
                        self._network_lost()
                    return
            if incoming is not None and self._transport is transport:
                indication = _Indication(hub, incoming.cluster_id, incoming.payload, 0, rssi)
                self._indications.append(indication)
                self._push_state()
            await asyncio.sleep(0)

    # ------------------------------------------------------------ APS data
    def _aps_data_request(self, request: bytes) -> None:
        data = _DataRequest.parse(RawFrame.from_bytes(request).body)
        if self._network != NetworkState.CONNECTED:
            self._answer(request, Status.NO_NETWORK, self._state() + u8(data.request_id))
            return
        if self._unplug_after is not None:
            self._unplug_after -= 1
            if self._unplug_after <= 0:
                self._unplug_after = None
                self._spawn(self._deliver_then_unplug(data))
                return
        self._answer(request, Status.SUCCESS, self._state() + u8(data.request_id))
        self._spawn(self._deliver(data))

    async def _deliver_then_unplug(self, data: _DataRequest) -> None:
        await self._put_on_air(data)
        self.unplug()

    async def _deliver(self, data: _DataRequest) -> None:
        transport = self._transport
        status = await self._put_on_air(data)
        self._confirms.append(_Confirm(data, status))
        self._push_state()
        if status == CONFIRM_NO_ACK and transport is not None and self._transport is transport:
            self._network_lost()  # the hub is gone: the stick leaves its network

    async def _put_on_air(self, data: _DataRequest) -> int:
        transport = self._transport
        hub = None if transport is None else EUI64.from_hex(transport.peer)
        to_hub = data.dst == hub or (data.dst_mode == MODE_NWK and data.dst == COORDINATOR_NWK)
        if transport is None or not to_hub:
            return CONFIRM_NO_ROUTE
        if len(data.asdu) > MAX_APS_BLOCK and not data.tx_options & ALLOW_FRAGMENTATION:
            return CONFIRM_ASDU_TOO_LONG
        secure = bool(data.tx_options & SECURITY_ENABLED)
        self.tx_options[(data.cluster_id, data.tx_options)] += 1
        try:
            if len(data.asdu) <= MAX_APS_BLOCK:  # one frame, no ack to await
                await transport.send(data.cluster_id, data.asdu, secure=secure)
            else:
                async with self._aps_lock:  # its acks must not go to the pump
                    await transport.send(data.cluster_id, data.asdu, secure=secure)
        except RadioError as exc:
            log.info("emulated ConBee could not deliver: %s", exc)
            return CONFIRM_NO_ACK
        return CONFIRM_SUCCESS

    def _aps_data_confirm(self, request: bytes) -> None:
        RawFrame.from_bytes(request)
        if not self._confirms:
            self._answer(request, Status.FAILURE, self._state())
            return
        confirm = self._confirms.popleft()
        data = confirm.request
        if isinstance(data.dst, EUI64):
            destination = u8(MODE_IEEE) + data.dst.le + u8(data.dst_endpoint)
        else:
            destination = u8(MODE_NWK) + u16(data.dst) + u8(data.dst_endpoint)
        body = (
            self._state()
            + u8(data.request_id)
            + destination
            + u8(data.src_endpoint)
            + u8(confirm.status)
            + bytes(4)
        )
        self._answer(request, Status.SUCCESS, body)

    def _aps_data_indication(self, request: bytes) -> None:
        flags = Reader(RawFrame.from_bytes(request).body, "APS data indication").u8()
        self.indication_flags.add(flags)
        if not self._indications:
            self._answer(request, Status.FAILURE, self._state())
            return
        indication = self._indications.popleft()
        if flags & INCLUDE_BOTH_NWK_AND_IEEE:
            source = u8(MODE_NWK_AND_IEEE) + u16(COORDINATOR_NWK) + indication.source.le
        else:
            source = u8(MODE_NWK) + u16(COORDINATOR_NWK)
        body = (
            self._state()
            + u8(MODE_NWK)
            + u16(self._nwk)
            + u8(HHT_ENDPOINT)
            + source
            + u8(HUB_ENDPOINT)
            + u16(SMART_ENERGY_PROFILE)
            + u16(indication.cluster_id)
            + u16(len(indication.asdu))
            + indication.asdu
            + bytes(2)
            + u8(lqi_for(indication.rssi))
            + bytes(4)
            + u8(indication.rssi & 0xFF)
        )
        self._answer(request, Status.SUCCESS, body)

    # ------------------------------------------------------------ Inter-PAN and scans
    def _start_interpan(self, request: bytes) -> None:
        start = InterPanStart.from_bytes(RawFrame.from_bytes(request).body)
        if self.firmware_without_interpan:
            self._answer(request, Status.UNSUPPORTED, u8(start.channel))
            return
        if start.channel not in CHANNELS:
            self._answer(request, Status.INVALID_VALUE, u8(start.channel))
            return
        self._interpan_channel = start.channel
        if self._network == NetworkState.OFFLINE:
            self._channel = start.channel
        if start.scan:
            self._spawn(self._scan(request, start.channel))
        else:
            self._answer(request, Status.SUCCESS, u8(start.channel))

    async def _scan(self, request: bytes, channel: int) -> None:
        try:
            beacons = await self.sim.active_scan([channel])
        except RadioError as exc:
            log.info("emulated ConBee scan failed: %s", exc)
            self._answer(request, Status.FAILURE, u8(channel))
            return
        for beacon in beacons:
            indication = self._beacon_indication(beacon)
            frame = RawFrame(ExtraCommand.BEACON_INDICATION, UNSOLICITED_SEQ, 0, indication)
            self._send(frame)
        self._answer(request, Status.SUCCESS, u8(channel))

    @staticmethod
    def _beacon_indication(beacon: Beacon) -> bytes:
        """What a beacon indication carries: no extended PAN id."""
        flags = BeaconFlags.PAN_COORDINATOR | BeaconFlags.ROUTER_CAPACITY
        if beacon.permit_join:
            flags |= BeaconFlags.ASSOCIATION_PERMIT
        return BeaconIndication(
            COORDINATOR_NWK, beacon.pan_id, beacon.channel, flags, 0, beacon.lqi, beacon.rssi
        ).to_bytes()

    def _send_interpan(self, request: bytes) -> None:
        try:
            send = InterPanRequest.from_bytes(RawFrame.from_bytes(request).body)
        except FrameError:
            self._answer(request, Status.INVALID_VALUE, u8(0))
            raise
        if self.firmware_without_interpan:
            self._answer(request, Status.UNSUPPORTED, u8(send.request_id))
            return
        if send.channel not in CHANNELS:
            self._answer(request, Status.INVALID_VALUE, u8(send.request_id))
            return
        self._interpan_channel = send.channel
        self._answer(request, Status.SUCCESS, u8(send.request_id))
        self._spawn(self._interpan_on_air(send))

    async def _interpan_on_air(self, send: InterPanRequest) -> None:
        self._mac_seq = (self._mac_seq + 1) & 0xFF
        frame = send.to_frame(self._mac_seq, self.sim.eui)
        status = CONFIRM_SUCCESS
        try:
            await self.sim.send_interpan(send.channel, frame)
        except RadioError as exc:
            log.info("emulated ConBee: Inter-PAN frame not sent: %s", exc)
            status = CONFIRM_CHANNEL_ACCESS_FAILURE
        except ValueError as exc:
            log.info("emulated ConBee: Inter-PAN frame too long: %s", exc)
            status = CONFIRM_ASDU_TOO_LONG
        confirm = InterPanConfirm(send.request_id, status).to_bytes()
        self._send(RawFrame(ExtraCommand.INTERPAN_CONFIRM, UNSOLICITED_SEQ, 0, confirm))

    async def _interpan_pump(self) -> None:
        """Inter-PAN frames the sim radio hears, to the host while the stick listens."""
        while True:
            try:
                received = await self.sim.receive_interpan(INTERPAN_POLL_SECONDS)
            except RadioError as exc:
                log.info("emulated ConBee: the simulated radio is gone: %s", exc)
                return
            if received is None:
                continue
            listening = self._interpan_channel
            if listening is None and self._network != NetworkState.CONNECTED:
                continue
            channel = self._channel if listening is None else listening
            indication = InterPanIndication.for_frame(
                channel, received.frame, received.lqi, received.rssi
            )
            body = indication.to_bytes()
            self._send(RawFrame(ExtraCommand.INTERPAN_INDICATION, UNSOLICITED_SEQ, 0, body))
