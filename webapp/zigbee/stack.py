"""The HHT's own Zigbee stack: from a beacon to an open GB-HRGP tunnel, over any FrameRadio.

:class:`ZigbeeStack` is the :class:`RadioDriver` the runner uses.  Its connection flow
(GBCS's HHT connection sequence), each step a stage the installer sees:

1. pick the beacons claiming the hub id (the window-open ones first, then the strongest);
2. Inter-PAN key establishment (CBKE, the HHT initiates) with each in turn until one proves
   it holds a certificate from our CA for that id: answers from anyone else, or with a
   certificate that fails the cheap checks (issuer, subject), are dropped, so spoof
   networks and fake key-establishment requests cost a little time and nothing more;
3. the HHT's entity id and install code, sealed under the Inter-PAN key;
4. join the hub's network with the install-code link key;
5. key establishment again, over APS, with the hub;
6. request the GB-HRGP tunnel.

Once a hub has taken the HHT into its device log, a reconnect (after a dropped link) goes
straight to step 4, so it works after the Inter-PAN window has closed.

:class:`StackHubLink` carries GBCS messages: PUT for commands, unsolicited PUTs and
GET-RESPONSEs for what the hub holds, GBCS block transfer for messages over one tunnel
transfer (1500 octets), APS fragmentation below that.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from webapp.zigbee.aps_transport import ApsTransport
from webapp.zigbee.cbke.certificate import CertificateError, parse_certificate
from webapp.zigbee.cbke.credentials import Credentials
from webapp.zigbee.cbke.installcode import link_key_from_install_code
from webapp.zigbee.cbke.party import CbkeParty, Role
from webapp.zigbee.drivers.base import (
    Beacon,
    ConnectStage,
    ErrorCode,
    HubLink,
    RadioDriver,
    RadioError,
    StageCallback,
    normalise_hub_id,
)
from webapp.zigbee.drivers.frames_base import FrameRadio
from webapp.zigbee.frames import key_establishment, registration, time_cluster, tunneling
from webapp.zigbee.frames.gbhrgp import HrgpGet, HrgpGetResponse, HrgpPut, decode_hrgp
from webapp.zigbee.frames.interpan import InterPanFrame
from webapp.zigbee.frames.key_establishment import InitiateKeyEstablishment
from webapp.zigbee.frames.tunneling import (
    GB_HRGP_REQUEST,
    CloseTunnel,
    RequestTunnelResponse,
    TransferData,
    TransferDataError,
    TunnelClosureNotification,
    TunnelStatus,
)
from webapp.zigbee.frames.zcl import Direction
from webapp.zigbee.recording import RecordingRadio
from webapp.zigbee.tunnel_gbt import GbtCollector, tunnel_parts
from webapp.zigbee.types import EUI64, FrameError

if TYPE_CHECKING:
    from webapp.zigbee.capture import Capture

log = logging.getLogger(__name__)

#: Candidates (beacons claiming the hub id) tried before giving up.
MAX_CANDIDATES = 8
#: The HHT is in no PAN while it talks Inter-PAN.
HHT_INTERPAN_PAN = 0xFFFF


@dataclass(frozen=True)
class StackTimeouts:
    """Real seconds to wait for the hub at each kind of step."""

    reply: float = 5.0  # an answer to one frame (registration, tunnel, time)
    key_establishment: float = 15.0  # one key-establishment step (hubs compute slowly)
    aps_ack: float = 2.0  # an APS acknowledgement of a window of blocks


class _Refused(Exception):
    """One candidate failed; ``code`` says how."""

    def __init__(self, code: ErrorCode, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class ZigbeeStack(RadioDriver):
    """Scan and connect over a frame-level radio, as one HHT with ``credentials``."""

    def __init__(
        self,
        radio: FrameRadio,
        credentials: Credentials | Callable[[], Credentials],
        install_code: bytes,
        *,
        timeouts: StackTimeouts | None = None,
        band_of: Callable[[str], str | None] | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.radio = radio
        self.info = radio.info
        self._credentials = credentials
        self.install_code = install_code
        self.timeouts = timeouts or StackTimeouts()
        self._band_of = band_of
        self._now = now
        self._heard: dict[str, list[Beacon]] = {}
        self._registered: set[str] = set()
        self._links: list[StackHubLink] = []
        self._frame_counter = itertools.count(1)
        self._seq = itertools.count(1)
        self.stage_seconds: dict[ConnectStage, float] = {}
        self.ignored_frames = 0

    @property
    def credentials(self) -> Credentials:
        """The terminal's key-establishment credentials (given, or made when first needed:
        issuing them, like the install code's link key, takes AES, which a terminal that
        has not yet scanned does without)."""
        if not isinstance(self._credentials, Credentials):
            self._credentials = self._credentials()
        return self._credentials

    @credentials.setter
    def credentials(self, credentials: Credentials) -> None:
        self._credentials = credentials

    @cached_property
    def link_key(self) -> bytes:
        return link_key_from_install_code(self.install_code)

    @property
    def eui(self) -> EUI64:
        return self.credentials.ieee

    # ------------------------------------------------------------ capture
    def _bare_radio(self) -> FrameRadio:
        radio = self.radio
        return radio.inner if isinstance(radio, RecordingRadio) else radio

    def record_to(self, capture: Capture | None) -> None:
        """Write every frame from the next scan or connection on into ``capture`` (None:
        stop): the radio's own bytes where it makes them, else frames rebuilt from what
        the stick hands over."""
        radio = self._bare_radio()
        if radio.records_air:
            radio.capture = capture
            self.radio = radio
        elif capture is None:
            self.radio = radio
        else:
            self.radio = RecordingRadio(radio, capture, self.eui)

    def capture_keys(self) -> list[bytes]:
        """The keys that open a capture of this radio (the network key and the link keys):
        only a simulated radio tells them; a real stick's never leave it."""
        radio = self._bare_radio()
        return list(getattr(radio, "keys_used", [])) if radio.records_air else []

    def move_to(self, hub_id: str) -> None:
        move = getattr(self.radio, "move_to", None)
        if move is not None:
            move(hub_id)

    async def active_scan(self, channels: list[int] | None = None) -> list[Beacon]:
        beacons = await self.radio.active_scan(channels)
        if channels is None:
            self._heard.clear()
        for beacon in beacons:
            self._heard.setdefault(beacon.extended_pan_id.upper(), []).append(beacon)
        return beacons

    async def close(self) -> None:
        for link in self._links:
            await link.close()
        self._links.clear()
        await self.radio.close()

    @property
    def available(self) -> bool:
        return self.radio.available

    async def reopen(self) -> None:
        """The stick is back: open it again; hubs must be connected to afresh."""
        await self.radio.reopen()
        for link in self._links:
            link.mark_closed()
        self._links.clear()
        self._heard.clear()

    # ------------------------------------------------------------ connect
    async def connect(self, hub_id: str, on_stage: StageCallback | None = None) -> StackHubLink:
        wanted = normalise_hub_id(hub_id)
        self.radio.expect(wanted)
        for link in self._links:
            await link.close()
        self._links.clear()
        self.stage_seconds = {}
        candidates = await self._candidates(wanted)
        clock = _StageClock(self.stage_seconds, on_stage)
        if wanted not in self._registered:
            clock.enter(ConnectStage.INTERPAN_KEY_ESTABLISHMENT)
            beacon, key = await self._interpan_key_establishment(wanted, candidates)
            clock.enter(ConnectStage.SEND_INSTALL_CODE)
            await self._register(wanted, beacon, key)
            self._registered.add(wanted)
        else:
            beacon = candidates[0]
        clock.enter(ConnectStage.JOIN_HAN)
        try:
            await self.radio.join(wanted, self.link_key)
        except RadioError as exc:
            self._registered.discard(wanted)  # the next connect sends the code again
            raise exc
        transport = ApsTransport(self.radio, wanted, self.timeouts.aps_ack)
        clock.enter(ConnectStage.HAN_KEY_ESTABLISHMENT)
        await self._han_key_establishment(wanted, transport)
        clock.enter(ConnectStage.OPEN_TUNNEL)
        link = StackHubLink(self, transport, wanted, beacon.band)
        await link.open()
        clock.enter(ConnectStage.READY)
        clock.finish()
        self._links.append(link)
        log.info("connected to hub %s over the frame-level stack", wanted)
        return link

    async def _candidates(self, wanted: str) -> list[Beacon]:
        heard = self._heard.get(wanted)
        if not heard:
            await self.active_scan()
            heard = self._heard.get(wanted)
        if not heard:
            band = self._band_of(wanted) if self._band_of else None
            if band is not None and band not in self.info.bands:
                raise RadioError(
                    ErrorCode.BAND_UNSUPPORTED, f"hub {wanted} is on {band}, which this stick lacks"
                )
            raise RadioError(ErrorCode.NOT_FOUND, f"no hub {wanted} in range")
        ordered = sorted(heard, key=lambda b: (not b.permit_join, -b.rssi))
        return ordered[:MAX_CANDIDATES]

    # ------------------------------------------------------------ Inter-PAN
    async def _interpan_key_establishment(
        self, wanted: str, candidates: list[Beacon]
    ) -> tuple[Beacon, bytes]:
        failures: list[_Refused] = []
        for beacon in candidates:
            try:
                key = await self._interpan_cbke_with(wanted, beacon)
            except _Refused as refused:
                log.info("hub %s on PAN %04X: %s", wanted, beacon.pan_id, refused.detail)
                failures.append(refused)
                continue
            return beacon, key
        codes = {f.code for f in failures}
        if ErrorCode.KEY_ESTABLISHMENT_REFUSED in codes:
            detail = "; ".join(f.detail for f in failures)
            raise RadioError(ErrorCode.KEY_ESTABLISHMENT_REFUSED, detail)
        if all(not b.permit_join for b in candidates) or codes == {ErrorCode.WINDOW_CLOSED}:
            raise RadioError(ErrorCode.WINDOW_CLOSED, f"hub {wanted} did not answer Inter-PAN")
        raise RadioError(ErrorCode.NOT_FOUND, f"hub {wanted} did not answer")

    def _interpan(self, beacon: Beacon, cluster: int, payload: bytes) -> InterPanFrame:
        return InterPanFrame(
            seq=next(self._seq) & 0xFF,
            dst_pan=beacon.pan_id,
            dst=EUI64.from_hex(beacon.extended_pan_id),
            src_pan=HHT_INTERPAN_PAN,
            src=self.eui,
            cluster_id=cluster,
            payload=payload,
        )

    def _from(self, frame: InterPanFrame, beacon: Beacon, cluster: int) -> bool:
        return (
            frame.src == EUI64.from_hex(beacon.extended_pan_id)
            and frame.src_pan == beacon.pan_id
            and frame.cluster_id == cluster
            and frame.dst == self.eui
        )

    async def _interpan_cbke_with(self, wanted: str, beacon: Beacon) -> bytes:
        party = CbkeParty(
            Role.INITIATOR, self.credentials, peer_ieee=EUI64.from_hex(wanted), now=self._now
        )
        cluster = key_establishment.CLUSTER_ID
        await self.radio.send_interpan(
            beacon.channel, self._interpan(beacon, cluster, party.start()), beacon.band
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeouts.key_establishment
        while not party.done:
            remaining = deadline - loop.time()
            received = await self.radio.receive_interpan(max(0.0, remaining))
            if received is None:
                if remaining <= 0 or loop.time() >= deadline:
                    raise _Refused(ErrorCode.WINDOW_CLOSED, "no answer to key establishment")
                continue
            frame = received.frame
            if not self._from(frame, beacon, cluster):
                self.ignored_frames += 1
                continue
            problem = self._certificate_problem(frame.payload, wanted)
            if problem:
                self.ignored_frames += 1
                raise _Refused(ErrorCode.KEY_ESTABLISHMENT_REFUSED, problem)
            reply = party.receive(frame.payload)
            if reply is not None:
                await self.radio.send_interpan(
                    beacon.channel, self._interpan(beacon, cluster, reply), beacon.band
                )
            if party.failed:
                raise _Refused(ErrorCode.KEY_ESTABLISHMENT_REFUSED, party.failure)
            deadline = loop.time() + self.timeouts.key_establishment
        assert party.link_key is not None
        return party.link_key

    def _certificate_problem(self, payload: bytes, wanted: str) -> str:
        """Why an Initiate response's certificate cannot be the hub's ('' when it may be)."""
        try:
            _header, command = key_establishment.decode_ke(payload)
        except FrameError:
            return ""  # the party terminates on undecodable frames itself
        if not isinstance(command, InitiateKeyEstablishment):
            return ""
        try:
            cert = parse_certificate(command.identity, self.credentials.suite)
        except CertificateError as exc:
            return f"malformed certificate ({exc})"
        if cert.issuer != self.credentials.issuer:
            return f"certificate from an unknown issuer {cert.issuer.hex().upper()} (spoof?)"
        if str(cert.subject) != wanted:
            return f"certificate for {cert.subject}, not {wanted} (spoof?)"
        return ""

    async def _register(self, wanted: str, beacon: Beacon, key: bytes) -> None:
        cluster = registration.REGISTRATION_CLUSTER
        sealed = registration.seal_registration(
            registration.Registration(self.eui, self.install_code),
            key,
            self.eui,
            next(self._frame_counter),
            next(self._seq),
        )
        await self.radio.send_interpan(
            beacon.channel, self._interpan(beacon, cluster, sealed), beacon.band
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeouts.reply
        while (remaining := deadline - loop.time()) > 0:
            received = await self.radio.receive_interpan(remaining)
            if received is None:
                break
            if not self._from(received.frame, beacon, cluster):
                self.ignored_frames += 1
                continue
            try:
                _header, status = registration.decode_registration_response(received.frame.payload)
            except FrameError:
                self.ignored_frames += 1
                continue
            if status == registration.RegistrationStatus.ACCEPTED:
                return
            raise RadioError(
                ErrorCode.KEY_ESTABLISHMENT_REFUSED,
                f"hub {wanted} would not add this terminal (status {status:#04x})",
            )
        raise RadioError(ErrorCode.NOT_FOUND, f"hub {wanted} did not confirm the install code")

    # ------------------------------------------------------------ joined
    async def _han_key_establishment(self, wanted: str, transport: ApsTransport) -> None:
        peer = EUI64.from_hex(wanted)
        party: Any = self.radio.key_establishment_party(peer) or CbkeParty(
            Role.INITIATOR, self.credentials, peer_ieee=peer, now=self._now
        )
        log.info("key establishment with hub %s by %s", wanted, type(party).__name__)
        cluster = key_establishment.CLUSTER_ID
        await transport.send(cluster, await _maybe_await(party.start()))
        while not party.done:
            incoming = await transport.receive(self.timeouts.key_establishment)
            if incoming is None:
                # joined moments ago, and the radio delivered what we sent
                raise RadioError(
                    ErrorCode.FRAMES_IGNORED, f"hub {wanted} stopped answering after the join"
                )
            if incoming.cluster_id != cluster:
                continue
            reply = await _maybe_await(party.receive(incoming.payload))
            if reply is not None:
                await transport.send(cluster, reply)
            if party.failed:
                raise RadioError(ErrorCode.KEY_ESTABLISHMENT_REFUSED, party.failure)
        if isinstance(party, CbkeParty):
            # the host agreed the key: the stick must hold it to secure the tunnel
            assert party.link_key is not None
            await self.radio.install_link_key(peer, party.link_key)
        transport.secure = True


async def _maybe_await(value: Any) -> Any:
    """A key establishment party's answer, whether it came at once or as a coroutine."""
    return await value if inspect.isawaitable(value) else value


class _StageClock:
    """Reports stages and how long each took."""

    def __init__(self, seconds: dict[ConnectStage, float], on_stage: StageCallback | None):
        self.seconds = seconds
        self.on_stage = on_stage
        self._stage: ConnectStage | None = None
        self._started = time.perf_counter()

    def enter(self, stage: ConnectStage) -> None:
        self.finish()
        self._stage, self._started = stage, time.perf_counter()
        if self.on_stage is not None:
            self.on_stage(stage)

    def finish(self) -> None:
        if self._stage is not None:
            self.seconds[self._stage] = time.perf_counter() - self._started
            self._stage = None


class StackHubLink(HubLink):
    """An open GB-HRGP tunnel to one hub, over the stack's APS transport."""

    def __init__(self, stack: ZigbeeStack, transport: ApsTransport, hub_id: str, band: str):
        self.hub_id = hub_id
        self.band = band
        self._stack = stack
        self._transport = transport
        self._tunnel_id: int | None = None
        self._open = False
        self._messages: deque[bytes] = deque()
        self._gbt = GbtCollector(f"link to hub {hub_id}")
        self._get_done = False
        self._times: deque[time_cluster.HubTime] = deque()
        self._tsn = itertools.count(1)
        self._tunnel_response: RequestTunnelResponse | None = None

    # ------------------------------------------------------------ state
    @property
    def is_open(self) -> bool:
        radio = self._stack.radio
        return self._open and radio.available and not getattr(radio, "link_down", False)

    @property
    def frames_sent(self) -> int:
        return int(getattr(self._stack.radio, "frames_sent", self._transport.frames_out))

    def mark_closed(self) -> None:
        """The radio under the link went away: the tunnel is gone."""
        self._open = False

    def drop_link(self, after_frames: int = 0) -> None:
        """Simulated radios only: the link drops after ``after_frames`` more frames."""
        drop = getattr(self._stack.radio, "drop_after", None)
        if drop is None:
            raise NotImplementedError("only a simulated radio can drop its link on request")
        drop(after_frames)

    def _check(self) -> None:
        if not self._stack.radio.available:
            self._open = False
            raise RadioError(ErrorCode.STICK_UNPLUGGED, "the radio stick is gone")
        if not self._open:
            raise RadioError(ErrorCode.NOT_CONNECTED, "the tunnel is closed")
        if getattr(self._stack.radio, "link_down", False):
            self._open = False
            raise RadioError(ErrorCode.LINK_LOST, f"link to hub {self.hub_id} dropped")

    def _lost(self, exc: RadioError) -> RadioError:
        if exc.code in (
            ErrorCode.LINK_LOST,
            ErrorCode.FRAMES_IGNORED,
            ErrorCode.NOT_CONNECTED,
            ErrorCode.STICK_UNPLUGGED,
            ErrorCode.RADIO_FAULT,
        ):
            self._open = False
        return exc

    async def _send_tunnel(self, command: object) -> None:
        frame = tunneling.encode_tunneling(command, Direction.CLIENT_TO_SERVER, next(self._tsn))
        try:
            await self._transport.send(tunneling.CLUSTER_ID, frame)
        except RadioError as exc:
            raise self._lost(exc) from exc

    # ------------------------------------------------------------ opening
    async def open(self) -> None:
        frame = tunneling.encode_tunneling(
            GB_HRGP_REQUEST, Direction.CLIENT_TO_SERVER, next(self._tsn)
        )
        await self._transport.send(tunneling.CLUSTER_ID, frame)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._stack.timeouts.reply
        while self._tunnel_response is None:
            remaining = deadline - loop.time()
            if remaining <= 0 or not await self._pump(remaining):
                # it answered key establishment moments ago: silence now means it drops
                # what the stick secures, so the stick is not using the agreed key
                raise RadioError(
                    ErrorCode.LINK_KEY_REJECTED,
                    f"hub {self.hub_id} did not answer the APS-secured Request Tunnel",
                )
        response = self._tunnel_response
        if response.status != TunnelStatus.SUCCESS:
            raise RadioError(
                ErrorCode.RADIO_FAULT,
                f"hub {self.hub_id} refused the GB-HRGP tunnel (status {response.status:#04x})",
            )
        self._tunnel_id = response.tunnel_id
        self._open = True

    # ------------------------------------------------------------ incoming
    async def _pump(self, timeout: float) -> bool:
        """Handle one whole payload from the hub; False when none came in ``timeout``."""
        try:
            incoming = await self._transport.receive(timeout)
        except RadioError as exc:
            raise self._lost(exc) from exc
        if incoming is None:
            return False
        if incoming.cluster_id == time_cluster.CLUSTER_ID:
            try:
                self._times.append(time_cluster.decode_time_response(incoming.payload))
            except FrameError as exc:
                log.info("hub %s: bad time response: %s", self.hub_id, exc)
            return True
        if incoming.cluster_id != tunneling.CLUSTER_ID:
            return True
        try:
            _header, command = tunneling.decode_tunneling(incoming.payload)
        except FrameError as exc:
            log.info("hub %s: dropping a tunnel frame: %s", self.hub_id, exc)
            return True
        if isinstance(command, RequestTunnelResponse):
            self._tunnel_response = command
        elif isinstance(command, TransferData):
            if command.tunnel_id == self._tunnel_id:
                self._on_hrgp(command.data)
        elif isinstance(command, TransferDataError | TunnelClosureNotification):
            log.info("hub %s closed the tunnel: %s", self.hub_id, command)
            self._open = False
            raise RadioError(ErrorCode.LINK_LOST, f"hub {self.hub_id} no longer knows the tunnel")
        return True

    def _on_hrgp(self, data: bytes) -> None:
        try:
            message = decode_hrgp(data)
        except FrameError as exc:
            log.info("hub %s: dropping GB-HRGP data: %s", self.hub_id, exc)
            return
        if isinstance(message, HrgpGetResponse):
            if message.message:
                self._collect(message.message)
            if message.messages_remaining == 0 and not message.message:
                self._get_done = True
        elif isinstance(message, HrgpPut):
            self._collect(message.message)

    def _collect(self, part: bytes) -> None:
        """Keep a whole message; GBT blocks once the last one is in."""
        whole = self._gbt.add(part)
        if whole is not None:
            self._messages.append(whole)

    # ------------------------------------------------------------ HubLink
    async def put(self, message: bytes) -> None:
        self._check()
        for part in tunnel_parts(message):
            await self._send_tunnel(TransferData(self._tunnel_id or 0, HrgpPut(part).to_bytes()))

    async def receive(self, timeout: float) -> bytes | None:
        self._check()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        while not self._messages:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            await self._pump(remaining)
        return self._messages.popleft()

    async def get(self) -> list[bytes]:
        self._check()
        self._get_done = False
        await self._send_tunnel(TransferData(self._tunnel_id or 0, HrgpGet().to_bytes()))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._stack.timeouts.reply
        while not self._get_done:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise self._lost(RadioError(ErrorCode.LINK_LOST, "no answer to GET"))
            if await self._pump(remaining):
                deadline = loop.time() + self._stack.timeouts.reply
        held = list(self._messages)
        self._messages.clear()
        return held

    async def ack(self, message: bytes) -> bool:
        acknowledge = getattr(self._stack.radio, "acknowledge", None)
        return True if acknowledge is None else bool(acknowledge(self.hub_id, bytes(message)))

    async def hub_time(self) -> tuple[float, bool] | None:
        if not self.is_open:
            return None
        try:
            await self._transport.send(
                time_cluster.CLUSTER_ID, time_cluster.encode_read_time(next(self._tsn))
            )
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self._stack.timeouts.reply
            while not self._times:
                remaining = deadline - loop.time()
                if remaining <= 0 or not await self._pump(remaining):
                    return None
        except RadioError as exc:
            raise self._lost(exc) from exc
        reading = self._times.popleft()
        return reading.unix_seconds, reading.synchronised

    async def close(self) -> None:
        if self._open and self._tunnel_id is not None:
            with contextlib.suppress(RadioError):
                await self._send_tunnel(CloseTunnel(self._tunnel_id))
        self._open = False
        await self._stack.radio.leave()
