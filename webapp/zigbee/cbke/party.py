"""One side of a Certificate-Based Key Establishment, driven by Key Establishment frames.

The initiator (ZCL client, the HHT) calls :meth:`CbkeParty.start` and sends what it
returns; each party feeds every Key Establishment ZCL frame it receives to
:meth:`CbkeParty.receive` and sends the frame that returns, if any.  The exchange is

    initiator                                responder
    Initiate KE request (cert U)      ->
                                      <-     Initiate KE response (cert V)
    Ephemeral Data request (QEU)      ->
                                      <-     Ephemeral Data response (QEV)
    Confirm Key request (MACU)        ->
                                      <-     Confirm Key response (MACV)

after which both hold ``link_key`` (KeyData).  Any check that fails produces a
Terminate Key Establishment frame instead, and the party ends in TERMINATED.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Callable
from enum import StrEnum

from webapp.zigbee.cbke.certificate import Certificate, CertificateError, parse_certificate
from webapp.zigbee.cbke.credentials import Credentials
from webapp.zigbee.cbke.curves import PointError
from webapp.zigbee.cbke.ecmqv import derive_keys, ecmqv, mac_u, mac_v
from webapp.zigbee.frames.key_establishment import (
    ConfirmKeyData,
    EphemeralData,
    InitiateKeyEstablishment,
    KeCommand,
    TerminateKeyEstablishment,
    TerminateStatus,
    decode_ke,
    encode_ke,
)
from webapp.zigbee.frames.zcl import Direction, ZclHeader
from webapp.zigbee.types import EUI64, FrameError

log = logging.getLogger(__name__)


class Role(StrEnum):
    INITIATOR = "initiator"  # ZCL client, sends requests
    RESPONDER = "responder"  # ZCL server, sends responses


class CbkeState(StrEnum):
    IDLE = "idle"
    AWAIT_INITIATE = "await-initiate"
    AWAIT_EPHEMERAL = "await-ephemeral"
    AWAIT_CONFIRM = "await-confirm"
    DONE = "done"
    TERMINATED = "terminated"


class KeyEstablishmentAbort(Exception):
    """A check on the peer's frame failed: the party answers with a Terminate Key
    Establishment carrying ``status`` and ends."""

    def __init__(self, status: TerminateStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class CbkeParty:
    def __init__(
        self,
        role: Role,
        credentials: Credentials,
        *,
        peer_ieee: EUI64 | None = None,
        now: Callable[[], float] = time.time,
        random_bytes: Callable[[int], bytes] = os.urandom,
        ephemeral_private_key: int | None = None,
        ephemeral_data_generate_time: int = 10,
        confirm_key_generate_time: int = 10,
        wait_time: int = 10,
    ) -> None:
        self.role = Role(role)
        self.credentials = credentials
        self.suite = credentials.suite
        self.peer_ieee = peer_ieee
        self._now = now
        self._random_bytes = random_bytes
        self._fixed_ephemeral = ephemeral_private_key
        self.ephemeral_data_generate_time = ephemeral_data_generate_time
        self.confirm_key_generate_time = confirm_key_generate_time
        self.wait_time = wait_time
        self.state = CbkeState.IDLE if self.role == Role.INITIATOR else CbkeState.AWAIT_INITIATE
        self._tsn = 0
        self.peer_certificate: Certificate | None = None
        self.peer_ephemeral_data_generate_time: int | None = None
        self.peer_confirm_key_generate_time: int | None = None
        self._peer_static: tuple[int, int] | None = None
        self._eph_private = 0
        self._eph_public: tuple[int, int] | None = None
        self._qeu = self._qev = b""
        self._mac_key = b""
        self._key_data = b""
        self.link_key: bytes | None = None
        self.terminate_status: TerminateStatus | int | None = None
        self.terminated_by_peer = False
        self.peer_wait_time: int | None = None
        self.failure: str = ""

    # -- public API ----------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.state == CbkeState.DONE

    @property
    def failed(self) -> bool:
        return self.state == CbkeState.TERMINATED

    @property
    def ieee(self) -> EUI64:
        return self.credentials.ieee

    def start(self) -> bytes:
        """Initiator only: the Initiate Key Establishment request to send."""
        if self.role != Role.INITIATOR or self.state != CbkeState.IDLE:
            raise RuntimeError("only an idle initiator can start key establishment")
        self.state = CbkeState.AWAIT_INITIATE
        self._tsn = (self._tsn + 1) & 0xFF
        return self._send(self._initiate())

    def receive(self, frame: bytes) -> bytes | None:
        """Consume one Key Establishment ZCL frame; return the frame to send back, if any."""
        if self.state == CbkeState.TERMINATED:
            log.debug("%s ignores a frame after the exchange ended", self.role)
            return None
        try:
            header, command = decode_ke(frame)
        except FrameError as exc:
            if self.state == CbkeState.DONE:
                return None
            return self._abort(TerminateStatus.BAD_MESSAGE, f"undecodable frame: {exc}")
        if self.state == CbkeState.DONE and not isinstance(command, TerminateKeyEstablishment):
            log.debug("%s ignores a frame after the exchange ended", self.role)
            return None
        if isinstance(command, TerminateKeyEstablishment):
            # also after DONE: the responder's key is void if the initiator rejects MACV
            self.state = CbkeState.TERMINATED
            self.link_key = None
            self.terminated_by_peer = True
            self.terminate_status = _status(command.status)
            self.peer_wait_time = command.wait_time
            self.failure = f"peer terminated: {_status_name(command.status)}"
            log.info("%s: key establishment terminated by peer (%s)", self.role, self.failure)
            return None
        expected = (
            Direction.SERVER_TO_CLIENT
            if self.role == Role.INITIATOR
            else Direction.CLIENT_TO_SERVER
        )
        if header.direction != expected:
            return self._abort(TerminateStatus.BAD_MESSAGE, "frame sent in the wrong direction")
        if self.role == Role.RESPONDER:
            self._tsn = header.tsn
        try:
            reply = self._dispatch(header, command)
        except KeyEstablishmentAbort as abort:
            return self._abort(abort.status, abort.reason)
        return self._send(reply) if reply is not None else None

    def terminate(self, status: TerminateStatus = TerminateStatus.NO_RESOURCES) -> bytes:
        """Abort locally (e.g. on a timeout) and return the Terminate frame to send."""
        return self._abort(status, "aborted locally")

    # -- state machine ---------------------------------------------------------
    def _dispatch(self, header: ZclHeader, command: KeCommand) -> KeCommand | None:
        state = self.state
        if state == CbkeState.AWAIT_INITIATE and isinstance(command, InitiateKeyEstablishment):
            self._accept_initiate(command)
            if self.role == Role.RESPONDER:
                self.state = CbkeState.AWAIT_EPHEMERAL
                return self._initiate()
            self._new_ephemeral()
            self._qeu = self._encode(self._eph_public)
            self.state = CbkeState.AWAIT_EPHEMERAL
            self._tsn = (self._tsn + 1) & 0xFF
            return EphemeralData(self._qeu)
        if state == CbkeState.AWAIT_EPHEMERAL and isinstance(command, EphemeralData):
            peer_eph = self._peer_ephemeral(command.data)
            if self.role == Role.RESPONDER:
                self._qeu = command.data
                self._new_ephemeral()
                self._qev = self._encode(self._eph_public)
                self._agree(peer_eph)
                self.state = CbkeState.AWAIT_CONFIRM
                return EphemeralData(self._qev)
            self._qev = command.data
            self._agree(peer_eph)
            self.state = CbkeState.AWAIT_CONFIRM
            self._tsn = (self._tsn + 1) & 0xFF
            return ConfirmKeyData(mac_u(self._mac_key, *self._macs_inputs()))
        if state == CbkeState.AWAIT_CONFIRM and isinstance(command, ConfirmKeyData):
            if self.role == Role.RESPONDER:
                expected = mac_u(self._mac_key, *self._macs_inputs())
                if not hmac.compare_digest(expected, command.mac):
                    raise KeyEstablishmentAbort(
                        TerminateStatus.BAD_KEY_CONFIRM, "MACU does not match"
                    )
                reply = ConfirmKeyData(mac_v(self._mac_key, *self._macs_inputs()))
                self._finish()
                return reply
            expected = mac_v(self._mac_key, *self._macs_inputs())
            if not hmac.compare_digest(expected, command.mac):
                raise KeyEstablishmentAbort(TerminateStatus.BAD_KEY_CONFIRM, "MACV does not match")
            self._finish()
            return None
        raise KeyEstablishmentAbort(
            TerminateStatus.BAD_MESSAGE,
            f"unexpected {type(command).__name__} in state {state.value}",
        )

    def _initiate(self) -> InitiateKeyEstablishment:
        return InitiateKeyEstablishment(
            suite=int(self.suite.id),
            ephemeral_data_generate_time=self.ephemeral_data_generate_time,
            confirm_key_generate_time=self.confirm_key_generate_time,
            identity=self.credentials.certificate,
        )

    def _accept_initiate(self, command: InitiateKeyEstablishment) -> None:
        if command.suite != int(self.suite.id):
            raise KeyEstablishmentAbort(
                TerminateStatus.UNSUPPORTED_SUITE, f"suite {command.suite:#06x} offered"
            )
        if len(command.identity) != self.suite.certificate_length:
            raise KeyEstablishmentAbort(
                TerminateStatus.BAD_MESSAGE,
                f"identity of {len(command.identity)} octets for suite {int(self.suite.id)}",
            )
        self.peer_ephemeral_data_generate_time = command.ephemeral_data_generate_time
        self.peer_confirm_key_generate_time = command.confirm_key_generate_time
        try:
            cert = parse_certificate(command.identity, self.suite)
        except CertificateError as exc:
            raise KeyEstablishmentAbort(TerminateStatus.INVALID_CERTIFICATE, str(exc)) from exc
        if cert.issuer != self.credentials.issuer:
            raise KeyEstablishmentAbort(
                TerminateStatus.UNKNOWN_ISSUER, f"issuer {cert.issuer.hex().upper()}"
            )
        if self.peer_ieee is not None and cert.subject != self.peer_ieee:
            raise KeyEstablishmentAbort(
                TerminateStatus.INVALID_CERTIFICATE,
                f"certificate subject {cert.subject} is not the sender {self.peer_ieee}",
            )
        if not cert.valid_at(self._now()):
            raise KeyEstablishmentAbort(
                TerminateStatus.INVALID_CERTIFICATE, "certificate not valid now"
            )
        try:
            self._peer_static = cert.public_key(self.credentials.ca_point)
        except CertificateError as exc:
            raise KeyEstablishmentAbort(TerminateStatus.INVALID_CERTIFICATE, str(exc)) from exc
        self.peer_certificate = cert

    def _peer_ephemeral(self, data: bytes) -> tuple[int, int]:
        if len(data) != self.suite.point_length or data[0] not in (2, 3):
            raise KeyEstablishmentAbort(
                TerminateStatus.BAD_MESSAGE, "ephemeral key is not a compressed point"
            )
        try:
            return self.suite.curve.decode_point(data)
        except PointError as exc:
            raise KeyEstablishmentAbort(
                TerminateStatus.BAD_MESSAGE, f"ephemeral key: {exc}"
            ) from exc

    def _new_ephemeral(self) -> None:
        curve = self.suite.curve
        if self._fixed_ephemeral is not None:
            k = self._fixed_ephemeral % curve.n
        else:
            k = 0
            while not 0 < k < curve.n:
                raw = self._random_bytes(curve.scalar_bytes)
                k = int.from_bytes(raw, "big") & ((1 << curve.n.bit_length()) - 1)
        self._eph_private = k
        self._eph_public = curve.mul(k, curve.g)

    def _encode(self, point: tuple[int, int] | None) -> bytes:
        return self.suite.curve.encode_point(point)

    def _agree(self, peer_eph: tuple[int, int]) -> None:
        assert self._peer_static is not None and self._eph_public is not None
        try:
            z = ecmqv(
                self.suite.curve,
                self.credentials.private_key % self.suite.curve.n,
                self._eph_private,
                self._eph_public,
                self._peer_static,
                peer_eph,
            )
        except PointError as exc:
            raise KeyEstablishmentAbort(
                TerminateStatus.BAD_MESSAGE, f"key agreement failed: {exc}"
            ) from exc
        self._mac_key, self._key_data = derive_keys(z)

    def _macs_inputs(self) -> tuple[EUI64, EUI64, bytes, bytes]:
        assert self.peer_certificate is not None
        peer = self.peer_certificate.subject
        if self.role == Role.INITIATOR:
            return self.ieee, peer, self._qeu, self._qev
        return peer, self.ieee, self._qeu, self._qev

    def _finish(self) -> None:
        self.state = CbkeState.DONE
        self.link_key = self._key_data
        self._mac_key = b""
        self._eph_private = 0
        log.info("%s: key established with %s", self.role, self.peer_certificate.subject)

    # -- framing -----------------------------------------------------------------
    def _send(self, command: KeCommand) -> bytes:
        direction = (
            Direction.CLIENT_TO_SERVER
            if self.role == Role.INITIATOR
            else Direction.SERVER_TO_CLIENT
        )
        return encode_ke(command, direction, self._tsn)

    def _abort(self, status: TerminateStatus, reason: str) -> bytes:
        self.state = CbkeState.TERMINATED
        self.terminate_status = status
        self.failure = f"{status.name}: {reason}"
        self._mac_key = b""
        self._eph_private = 0
        log.info("%s: terminating key establishment (%s)", self.role, self.failure)
        return self._send(
            TerminateKeyEstablishment(int(status), self.wait_time, int(self.suite.id))
        )


def _status(value: int) -> TerminateStatus | int:
    try:
        return TerminateStatus(value)
    except ValueError:
        return value


def _status_name(value: int) -> str:
    status = _status(value)
    return status.name if isinstance(status, TerminateStatus) else f"status {value:#04x}"
