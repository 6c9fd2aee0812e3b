"""A simulated hub at frame level: what its radio answers to the HHT's frames.

One :class:`HubEndpoint` per hub.  It speaks the same frames a real hub does, decoded from
and encoded to bytes: Inter-PAN Key Establishment (the hub is the responder), the HHT's
sealed registration (entity id and install code, added to the hub's device log), the join
check (the install-code link key), Key Establishment again over APS once joined, the
Tunneling cluster with GB-HRGP, APS fragmentation both ways, GBCS block transfer for
messages over 1500 octets, and the Time cluster.

The hub answers synchronously: every handler returns the frames to send back, and the
simulated radio puts them on the medium.  Message handling below the tunnel is the
message-level hub (:mod:`webapp.sim.han.hub`): a whole GBCS command goes to ``submit``, and
what the devices answer comes from the outbox.

Power-cycling a hub (``boots`` changes) ends what it holds in RAM (key establishment in
progress, tunnels, transfers: an open link finds its tunnel gone) but not what a real hub
keeps in non-volatile memory (its network, who joined it, their link keys), and
reopens the Inter-PAN window; the device log survives, as on a real hub.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from webapp.zigbee.cbke.credentials import Credentials
from webapp.zigbee.cbke.installcode import InstallCodeError, link_key_from_install_code
from webapp.zigbee.cbke.party import CbkeParty, Role
from webapp.zigbee.frames import key_establishment, registration, time_cluster, tunneling
from webapp.zigbee.frames.aps import ApsFrame, ApsFrameType, ApsHeader, Fragmentation
from webapp.zigbee.frames.fragmentation import (
    OutgoingTransfer,
    Reassembler,
    ack_header,
    block_index,
)
from webapp.zigbee.frames.gbhrgp import HrgpGet, HrgpGetResponse, HrgpPut, decode_hrgp
from webapp.zigbee.frames.interpan import InterPanFrame
from webapp.zigbee.frames.tunneling import (
    GB_HRGP_MANUFACTURER_CODE,
    GB_HRGP_MAX_TRANSFER_SIZE,
    GB_HRGP_PROTOCOL_ID,
    RequestTunnel,
    RequestTunnelResponse,
    TransferData,
    TransferDataError,
    TransferDataStatus,
    TunnelStatus,
)
from webapp.zigbee.frames.zcl import Direction
from webapp.zigbee.sizes import (
    APS_WINDOW,
    HHT_ENDPOINT,
    HUB_ENDPOINT,
    MAX_APS_BLOCK,
    MAX_APS_FRAME,
    SMART_ENERGY_PROFILE,
)
from webapp.zigbee.tunnel_gbt import GbtCollector, tunnel_parts
from webapp.zigbee.types import EUI64, FrameError

from .hub import Route
from .hub_network import HubNetwork, meter_link_key
from .window_request import TRUSTED_KINDS, WINDOW_CLUSTER, on_window_request

if TYPE_CHECKING:
    from .han import SimHan

log = logging.getLogger(__name__)

#: Modelled sim seconds a hub takes for one ECC step of key establishment (its CPU is slow).
#: A manufacturer-specific cluster the simulated hub takes without answering: frames to it
#: cost airtime and acknowledgements only (link tests and benchmarks send them).
QUIET_CLUSTER = 0xFC00


def quiet_aps_frame(counter: int) -> ApsFrame:
    """A full-size APS data frame from the HHT to the hub's quiet cluster."""
    header = ApsHeader(
        frame_type=ApsFrameType.DATA,
        counter=counter & 0xFF,
        dst_endpoint=HUB_ENDPOINT,
        cluster_id=QUIET_CLUSTER,
        profile_id=SMART_ENERGY_PROFILE,
        src_endpoint=HHT_ENDPOINT,
    )
    return ApsFrame(header, bytes(MAX_APS_FRAME - len(ApsFrame(header, b"").to_bytes())))


HUB_KE_STEP_SECONDS = 0.35
#: Modelled sim seconds a hub takes to answer anything else.
HUB_TURNAROUND_SECONDS = 0.002
DEVICE_LOG_SIZE = 16

#: A frame to send back: after how many sim seconds, the frame, and the APS link key it
#: goes secured under (None: network security only).
Reply = tuple[float, ApsFrame, bytes | None]


@dataclass
class _Tunnel:
    tunnel_id: int
    hht: EUI64
    key: bytes  # the CBKE key the tunnel runs under
    handed: set[int] = field(default_factory=set)  # outbox ids pushed on this tunnel
    gbt: GbtCollector = field(default_factory=lambda: GbtCollector("simulated hub"))


@dataclass
class _Session:
    """What a hub holds for one HHT between power cycles."""

    interpan_ke: CbkeParty | None = None
    interpan_key: bytes | None = None
    joined: bool = False
    han_ke: CbkeParty | None = None
    han_key: bytes | None = None
    tunnel: _Tunnel | None = None


class HubEndpoint:
    """The frame-level face of one simulated hub."""

    def __init__(
        self,
        han: SimHan,
        hub_id: str,
        credentials: Credentials,
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.han = han
        self.hub_id = hub_id
        self.eui = EUI64.from_hex(hub_id)
        self.credentials = credentials
        self._wall = now
        self.device_log: dict[EUI64, bytes] = {}  # HHT entity id -> install-code link key
        self._boots = -1
        self._sessions: dict[EUI64, _Session] = {}
        self._next_tunnel = 1
        self._aps_counter = 0
        self._tsn = 0
        self._reassembler = Reassembler()
        self._sending: OutgoingTransfer | None = None  # one fragmented transfer at a time
        self._sending_key: bytes | None = None  # the APS key that transfer goes under
        self._backlog: deque[tuple[int, bytes, float, bytes | None]] = deque()  # behind it
        #: Frames dropped, by reason: "nwk-mic", "nwk-counter", "aps-key" (secured under a
        #: key the hub does not hold for the sender), "aps-counter", "aps-policy" (a
        #: cluster that needs the CBKE key came without it), "malformed".
        self.dropped: Counter[str] = Counter()
        self._network: HubNetwork | None = None

    # ------------------------------------------------------------ state
    @property
    def name(self) -> str:
        return f"hub:{self.hub_id}"

    @property
    def address(self) -> EUI64:
        return self.eui

    @property
    def pan_id(self) -> int | None:
        hub = self.row()
        return None if hub is None else hub["pan_id"]

    def row(self) -> dict[str, Any] | None:
        return self.han.hubs.hub(self.hub_id)

    def _fresh(self) -> None:
        """After a power cycle (since we last looked): what a hub keeps in non-volatile
        memory stays (its network, who has joined it, their link keys); what it holds in
        RAM is gone (Inter-PAN and CBKE exchanges in progress, tunnels, transfers)."""
        hub = self.row()
        boots = -1 if hub is None else hub["boots"]
        if boots != self._boots:
            self._boots = boots
            self._sessions = {
                hht: _Session(joined=session.joined, han_key=session.han_key)
                for hht, session in self._sessions.items()
            }
            self._sending = None
            self._backlog.clear()
            self._reassembler = Reassembler()

    def _session(self, hht: EUI64) -> _Session:
        self._fresh()
        return self._sessions.setdefault(hht, _Session())

    def window_open(self, now: float) -> bool:
        from .window import window_open

        return window_open(self.row(), now)

    def _next_tsn(self) -> int:
        self._tsn = (self._tsn + 1) & 0xFF
        return self._tsn

    # ------------------------------------------------------------ Inter-PAN
    def on_interpan(self, frame: InterPanFrame, now: float) -> list[tuple[float, InterPanFrame]]:
        """Frames to answer an Inter-PAN frame with, each after a modelled delay."""
        if not isinstance(frame.src, EUI64):
            return []
        if not self.window_open(now):
            log.debug("hub %s ignores Inter-PAN: its window is closed", self.hub_id)
            return []
        session = self._session(frame.src)
        if frame.cluster_id == key_establishment.CLUSTER_ID:
            delay, payload = self._key_establishment(session, frame.src, frame.payload, True)
        elif frame.cluster_id == registration.REGISTRATION_CLUSTER:
            delay, payload = HUB_TURNAROUND_SECONDS, self._register(session, frame)
        else:
            return []
        if payload is None:
            return []
        reply = InterPanFrame(
            seq=frame.seq,
            dst_pan=frame.src_pan,
            dst=frame.src,
            src_pan=self.row()["pan_id"],
            src=self.eui,
            cluster_id=frame.cluster_id,
            payload=payload,
        )
        return [(delay, reply)]

    def link_key(self, hht: EUI64) -> bytes | None:
        """The APS link key the hub holds for ``hht``: the CBKE key once agreed, before
        that the install-code key from the device log."""
        if self.meter_kind(hht) is not None:
            return meter_link_key(self.han.seed, str(hht))
        session = self._session(hht)
        return session.han_key or self.device_log.get(hht)

    def meter_kind(self, eui: EUI64) -> str | None:
        """The kind of ``eui`` when it is a meter (ESME, GSME) in this hub's device log."""
        device = self.han.hubs.device(str(eui))
        if device is None or device["hub_id"] != self.hub_id or not device["in_device_log"]:
            return None
        return device["kind"] if device["kind"] in TRUSTED_KINDS else None

    def on_meter_aps(
        self, meter: EUI64, frame: ApsFrame, now: float, *, key: bytes | None
    ) -> list[Reply]:
        """A meter's frame: only its request to open the window is taken."""
        if frame.header.cluster_id != WINDOW_CLUSTER:
            return []
        return on_window_request(self, meter, frame, now, key)

    def count_drop(self, reason: str, detail: object = "") -> None:
        self.dropped[reason] += 1
        log.info("hub %s drops a frame (%s) %s", self.hub_id, reason, detail)

    def _drop(self, reason: str, hht: EUI64) -> list[Reply]:
        self.count_drop(reason, f"from {hht}")
        return []

    def _key_establishment(
        self, session: _Session, peer: EUI64, payload: bytes, interpan: bool
    ) -> tuple[float, bytes | None]:
        try:
            header, _command = key_establishment.decode_ke(payload)
        except FrameError:
            return HUB_TURNAROUND_SECONDS, None
        party = session.interpan_ke if interpan else session.han_ke
        if header.command_id == key_establishment.KeCommandId.INITIATE_KEY_ESTABLISHMENT:
            party = CbkeParty(Role.RESPONDER, self.credentials, peer_ieee=peer, now=self._wall)
            if interpan:
                session.interpan_ke, session.interpan_key = party, None
            else:
                session.han_ke, session.han_key = party, None
        if party is None:
            return HUB_TURNAROUND_SECONDS, None
        reply = party.receive(payload)
        if party.done:
            if interpan:
                session.interpan_key = party.link_key
            else:
                session.han_key = party.link_key
        return HUB_KE_STEP_SECONDS, reply

    def _register(self, session: _Session, frame: InterPanFrame) -> bytes | None:
        assert isinstance(frame.src, EUI64)
        if session.interpan_key is None:
            log.info(
                "hub %s: registration from %s before key establishment", self.hub_id, frame.src
            )
            return None
        try:
            header, reg = registration.open_registration(
                frame.payload, session.interpan_key, frame.src
            )
        except FrameError as exc:
            log.info("hub %s refuses a registration: %s", self.hub_id, exc)
            return None
        try:
            link_key = link_key_from_install_code(reg.install_code)
        except InstallCodeError:
            status = registration.RegistrationStatus.BAD_CODE
        else:
            if reg.entity_id not in self.device_log and len(self.device_log) >= DEVICE_LOG_SIZE:
                status = registration.RegistrationStatus.REFUSED
            else:
                self.device_log[reg.entity_id] = link_key
                status = registration.RegistrationStatus.ACCEPTED
                log.info("hub %s added HHT %s to its device log", self.hub_id, reg.entity_id)
        return registration.encode_registration_response(status, header.tsn)

    # ------------------------------------------------------------ joined
    @property
    def network(self) -> HubNetwork:
        """The hub's HAN at MAC and NWK level (coordinator and trust centre)."""
        if self._network is None:
            hub = self.row()
            if hub is None:
                raise LookupError(f"no simulated hub {self.hub_id}")
            self._network = HubNetwork(self, hub["pan_id"])
        return self._network

    def on_frame(self, raw: bytes, now: float) -> list[tuple[float, bytes]]:
        """The frames (bytes, each after a modelled delay) to answer frame ``raw`` with."""
        self._fresh()
        return self.network.on_frame(raw, now)

    def accepts_association(self) -> bool:
        """Association is open to anyone; the trust centre decides who gets the key."""
        return self.row() is not None

    def joined(self, hht: EUI64) -> None:
        """``hht`` announced itself under the network key: a new session on the HAN."""
        session = self._session(hht)
        session.joined, session.han_key, session.han_ke, session.tunnel = True, None, None, None
        self._reassembler.forget(hht)
        self._sending = None
        self._backlog.clear()
        log.info("hub %s: %s joined its HAN", self.hub_id, hht)

    def on_aps(
        self, hht: EUI64, frame: ApsFrame, now: float, *, key: bytes | None = None
    ) -> list[Reply]:
        """Frames to answer one APS frame from ``hht`` with; ``key`` is the APS link key
        it came secured under (None: network security only)."""
        session = self._session(hht)
        if not session.joined:
            return []
        if key is not None and key != self.link_key(hht):
            return self._drop("aps-key", hht)
        header = frame.header
        if header.frame_type == ApsFrameType.ACK:
            return self._on_ack(header)
        if header.frame_type != ApsFrameType.DATA:
            return []
        replies: list[Reply] = []
        payload = frame.payload
        if header.fragmentation != Fragmentation.NONE:
            try:
                whole = self._reassembler.feed(hht, frame)
            except FrameError as exc:
                log.info("hub %s drops a block: %s", self.hub_id, exc)
                return []
            transfer = self._reassembler.transfer(hht, header.counter)
            index = block_index(header)
            done = whole is not None or self._reassembler.finished(hht, header.counter)
            if done or (index + 1) % APS_WINDOW == 0:
                first = index // APS_WINDOW * APS_WINDOW
                bits = transfer.ack_bitfield(first, APS_WINDOW) if transfer else 0xFF
                replies.append((0.0, ApsFrame(ack_header(header, first, bits)), key))
            if whole is None:
                return replies
            payload = whole
        replies += self._on_zcl(session, hht, header.cluster_id, payload, now, key)
        return replies

    def _on_ack(self, ack: ApsHeader) -> list[Reply]:
        transfer = self._sending
        if transfer is None or transfer.frames[0].header.counter != ack.counter:
            return []
        transfer.on_ack(ack)
        if not transfer.done:
            return [(0.0, frame, self._sending_key) for frame in transfer.pending()]
        self._sending = None
        replies: list[Reply] = []
        while self._backlog and self._sending is None:
            replies += self._start(*self._backlog.popleft())
        return replies

    def _on_zcl(
        self,
        session: _Session,
        hht: EUI64,
        cluster: int | None,
        payload: bytes,
        now: float,
        key: bytes | None,
    ) -> list[Reply]:
        if cluster == key_establishment.CLUSTER_ID:
            # Key Establishment runs under network security only (it makes the APS key)
            delay, reply = self._key_establishment(session, hht, payload, False)
            return [] if reply is None else self._send(cluster, reply, delay)
        if cluster == time_cluster.CLUSTER_ID:
            try:
                header = time_cluster.decode_read_time(payload)
            except FrameError:
                return []
            hub = self.row()
            reading = time_cluster.HubTime(self._wall(), bool(hub and hub["wan_up"]))
            answer = time_cluster.encode_time_response(reading, header.tsn)
            return self._send(cluster, answer, key=key)
        if cluster == tunneling.CLUSTER_ID:
            if session.han_key is None or key != session.han_key:
                # the tunnel is taken only APS-secured under the key agreed by CBKE
                return self._drop("aps-policy", hht)
            return self._on_tunnel(session, hht, payload)
        return []

    # ------------------------------------------------------------ tunnel
    def _on_tunnel(self, session: _Session, hht: EUI64, payload: bytes) -> list[Reply]:
        try:
            header, command = tunneling.decode_tunneling(payload)
        except FrameError as exc:
            log.info("hub %s drops a tunnel frame: %s", self.hub_id, exc)
            return []
        if isinstance(command, RequestTunnel):
            ok = (
                command.protocol_id == GB_HRGP_PROTOCOL_ID
                and command.manufacturer_code == GB_HRGP_MANUFACTURER_CODE
            )
            if ok:
                tunnel_id = self._next_tunnel
                self._next_tunnel = self._next_tunnel % 0xFFFF + 1
                session.tunnel = _Tunnel(tunnel_id, hht, session.han_key)
                status = TunnelStatus.SUCCESS
            else:
                tunnel_id, status = 0xFFFF, TunnelStatus.PROTOCOL_NOT_SUPPORTED
            response = RequestTunnelResponse(tunnel_id, int(status), GB_HRGP_MAX_TRANSFER_SIZE)
            return self._tunnel_reply(response, header.tsn, session.han_key)
        if isinstance(command, TransferData):
            tunnel = session.tunnel
            if tunnel is None or tunnel.tunnel_id != command.tunnel_id:
                error = TransferDataError(command.tunnel_id, int(TransferDataStatus.NO_SUCH_TUNNEL))
                return self._tunnel_reply(error, header.tsn, session.han_key)
            return self._on_hrgp(tunnel, command.data)
        return []

    def _on_hrgp(self, tunnel: _Tunnel, data: bytes) -> list[Reply]:
        try:
            message = decode_hrgp(data)
        except FrameError as exc:
            log.info("hub %s drops GB-HRGP data: %s", self.hub_id, exc)
            return []
        if isinstance(message, HrgpPut):
            whole = tunnel.gbt.add(message.message)
            if whole is not None:
                self.han.hubs.submit(self.hub_id, whole, Route.HHT)
            return []
        if isinstance(message, HrgpGet):
            return self._answer_get(tunnel)
        return []

    def _answer_get(self, tunnel: _Tunnel) -> list[Reply]:
        """GET: every message held for the HHT that this tunnel has not carried, in order,
        then an empty GET-RESPONSE (none remaining)."""
        hubs = self.han.hubs
        hubs.pump()
        waiting = hubs.outbox_waiting(self.hub_id, exclude=tunnel.handed)
        replies: list[Reply] = []
        for index, row in enumerate(waiting):
            remaining = len(waiting) - index - 1
            replies += self._carry(tunnel, row, lambda m, r=remaining: HrgpGetResponse(r, m))
        replies += self._transfer(tunnel, HrgpGetResponse(0, b"").to_bytes())
        return replies

    def pushes(self, hht: EUI64) -> list[tuple[float, bytes]]:
        """Messages for ``hht`` that arrived since it last heard from us, pushed as PUTs,
        as frames on the air."""
        return self.network.emit(hht, self._push_frames(hht))

    def _push_frames(self, hht: EUI64) -> list[Reply]:
        session = self._session(hht)
        tunnel = session.tunnel
        if tunnel is None or session.han_key is None:
            return []
        waiting = self.han.hubs.outbox_waiting(self.hub_id, exclude=tunnel.handed)
        replies: list[Reply] = []
        for row in waiting:
            replies += self._carry(tunnel, row, HrgpPut)
        return replies

    def _carry(
        self, tunnel: _Tunnel, row: dict[str, Any], wrap: Callable[[bytes], Any]
    ) -> list[Reply]:
        raw = bytes(row["raw"])
        tunnel.handed.add(row["id"])
        self.han.hubs.mark_delivered(row["id"])
        replies: list[Reply] = []
        for part in tunnel_parts(raw):
            replies += self._transfer(tunnel, wrap(part).to_bytes())
        return replies

    def _transfer(self, tunnel: _Tunnel, data: bytes) -> list[Reply]:
        command = TransferData(tunnel.tunnel_id, data)
        return self._tunnel_reply(command, self._next_tsn(), tunnel.key)

    def _tunnel_reply(self, command: Any, tsn: int, key: bytes | None) -> list[Reply]:
        frame = tunneling.encode_tunneling(command, Direction.SERVER_TO_CLIENT, tsn)
        return self._send(tunneling.CLUSTER_ID, frame, key=key)

    def _send(
        self,
        cluster: int,
        payload: bytes,
        delay: float = HUB_TURNAROUND_SECONDS,
        key: bytes | None = None,
    ) -> list[Reply]:
        """APS frames for one ZCL payload: one frame, or the first window of blocks; nothing
        yet while an earlier fragmented payload is still going out (it follows in order)."""
        if self._sending is not None:
            self._backlog.append((cluster, payload, delay, key))
            return []
        return self._start(cluster, payload, delay, key)

    def _start(self, cluster: int, payload: bytes, delay: float, key: bytes | None) -> list[Reply]:
        self._aps_counter = (self._aps_counter + 1) & 0xFF
        header = ApsHeader(
            frame_type=ApsFrameType.DATA,
            counter=self._aps_counter,
            dst_endpoint=HHT_ENDPOINT,
            cluster_id=cluster,
            profile_id=SMART_ENERGY_PROFILE,
            src_endpoint=HUB_ENDPOINT,
        )
        transfer = OutgoingTransfer(header, payload, MAX_APS_BLOCK, APS_WINDOW)
        if transfer.total > 1:
            self._sending, self._sending_key = transfer, key
        return [(delay, frame, key) for frame in transfer.pending()]
