"""zigpy-deconz's ``Deconz`` with the commands the HHT needs before it joins a network.

zigpy-deconz gives the serial framing (SLIP with a 16-bit checksum), the command table for
the standard deCONZ commands and the poller that reads an APS indication or confirm when the
device-state flags say one waits.  :class:`DeconzApi` adds Inter-PAN and the beacons of a
scan (:mod:`webapp.zigbee.drivers.deconz.frames` gives their layouts): answers to them
resolve :meth:`DeconzApi.extra_command`, unsolicited ones go to a callback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import zigpy.config
import zigpy.serial
import zigpy_deconz.uart
from zigpy_deconz.api import Deconz, DeviceState, Status

from webapp.zigbee.types import FrameError

from .frames import EXTRA_COMMANDS, ExtraCommand, RawFrame

log = logging.getLogger(__name__)


class TolerantGateway(zigpy_deconz.uart.Gateway):
    """zigpy-deconz's framing, surviving a frame cut short after an escape octet."""

    def _unescape(self, data: bytes) -> bytes:
        unescaped = super()._unescape(data)
        return b"" if unescaped is None else unescaped  # dropped as too short


class StickGone(ConnectionError):
    """The serial port closed under a command."""


class DeconzApi(Deconz):
    """zigpy-deconz's ``Deconz`` with the Inter-PAN and beacon commands added.

    Answers to START_INTERPAN and SEND_INTERPAN resolve :meth:`extra_command`; the
    unsolicited ones (indications, confirms, beacons) go to ``on_unsolicited``.  Every other
    frame is zigpy-deconz's; ``on_frame`` hears about each one after it is handled.
    """

    def __init__(
        self,
        app: Any,
        device_config: dict[str, Any],
        *,
        on_unsolicited: Callable[[RawFrame], None],
        on_frame: Callable[[], None],
    ) -> None:
        super().__init__(app, device_config)
        self._on_unsolicited = on_unsolicited
        self._on_frame = on_frame
        self._extra: dict[tuple[int, int], asyncio.Future[RawFrame]] = {}
        self.dropped_frames = 0

    async def connect(self) -> None:
        assert self._uart is None
        gateway = TolerantGateway(self)
        config = self._config
        await zigpy.serial.create_serial_connection(
            loop=asyncio.get_running_loop(),
            protocol_factory=lambda: gateway,
            url=config[zigpy.config.CONF_DEVICE_PATH],
            baudrate=config[zigpy.config.CONF_DEVICE_BAUDRATE],
            flow_control=config.get(zigpy.config.CONF_DEVICE_FLOW_CONTROL),
        )
        await gateway.wait_until_connected()
        self._uart = gateway
        try:
            await self.version()
            state = await self.get_device_state()
        except BaseException:
            await self.disconnect()
            raise
        self._device_state = state
        self._data_poller_task = asyncio.create_task(self._data_poller())

    @property
    def device_state(self) -> DeviceState:
        return self._device_state

    def connection_lost(self, exc: Exception | None) -> None:
        gone = StickGone(f"serial port closed: {exc}" if exc else "serial port closed")
        for fut in self._extra.values():
            if not fut.done():
                fut.set_exception(gone)
        for by_command in self._awaiting.values():
            for futures in by_command.values():
                for fut in futures:
                    if not fut.done():
                        fut.set_exception(gone)
        self._uart = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if len(data) >= 2 and data[0] in EXTRA_COMMANDS:
            self._extra_received(data)
        else:
            try:
                super().data_received(data)
            except Exception as exc:  # noqa: BLE001 - a bad frame must not stop the port
                self.dropped_frames += 1
                log.info("dropping a deCONZ frame zigpy-deconz could not take: %r", exc)
        asyncio.get_running_loop().call_soon(self._on_frame)

    def _extra_received(self, data: bytes) -> None:
        try:
            frame = RawFrame.from_bytes(data)
        except FrameError as exc:
            self.dropped_frames += 1
            log.info("dropping a malformed deCONZ frame %s: %s", data[:8].hex(), exc)
            return
        fut = self._extra.get((frame.command_id, frame.seq))
        if fut is not None:
            if not fut.done():
                fut.set_result(frame)
            return
        if frame.command_id in (ExtraCommand.START_INTERPAN, ExtraCommand.SEND_INTERPAN):
            self.dropped_frames += 1
            log.info("dropping an answer nobody asked for: %s", frame)
            return
        self._on_unsolicited(frame)

    async def extra_command(self, command: ExtraCommand, body: bytes, timeout: float) -> RawFrame:
        """Send one of the added commands and wait for its answer (any status)."""
        async with self._command_lock(priority=0):
            if self._uart is None:
                raise StickGone("serial port closed")
            seq = self._seq
            self._seq = self._seq % 255 + 1
            key = (int(command), seq)
            fut: asyncio.Future[RawFrame] = asyncio.get_running_loop().create_future()
            self._extra[key] = fut
            try:
                self._uart.send(RawFrame(int(command), seq, 0, body).to_bytes())
                async with asyncio.timeout(timeout):
                    return await fut
            finally:
                self._extra.pop(key, None)

    async def refresh_device_state(self) -> DeviceState:
        """Read the device state and let zigpy-deconz's poller act on its flags."""
        state = await self.get_device_state()
        self._handle_device_state_changed(status=Status.SUCCESS, device_state=state)
        return state
