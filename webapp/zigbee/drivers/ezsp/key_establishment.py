"""Key establishment with the hub over the joined network, run by an EZSP stick's own
CBKE 283k1 library.

:class:`NcpCbkeParty` is the initiator (the HHT): ``getCertificate283k1`` for our
certificate, ``generateCbkeKeys283k1`` (callback ``generateCbkeKeysHandler283k1``) for our
ephemeral key, ``calculateSmacs283k1`` (callback ``calculateSmacsHandler283k1``) for MACU
and MACV, and ``clearTemporaryDataMaybeStoreLinkKey283k1`` (0x00EE, storeLinkKey True once
the hub's MACV checks out) to keep the key in the stick's key table for the hub (or drop
it).  Once it is kept the stick secures frames to the hub with it, and the radio is told
(:meth:`CbkeNcp.cbke_key_stored`) so that no host key replaces it.  It reaches the stick
through :class:`CbkeNcp`, which :class:`~webapp.zigbee.drivers.ezsp.radio.EzspRadio` is.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any, Protocol

import bellows.types as t
from bellows.exception import InvalidCommandError

from webapp.zigbee.cbke.certificate import CertificateError, parse_certificate
from webapp.zigbee.cbke.party import CbkeState, KeyEstablishmentAbort
from webapp.zigbee.cbke.suites import SUITE_2
from webapp.zigbee.drivers.base import ErrorCode, RadioError
from webapp.zigbee.frames.key_establishment import (
    ConfirmKeyData,
    EphemeralData,
    InitiateKeyEstablishment,
    TerminateKeyEstablishment,
    TerminateStatus,
    decode_ke,
    encode_ke,
)
from webapp.zigbee.frames.zcl import Direction
from webapp.zigbee.types import EUI64, FrameError

from .status import succeeded

log = logging.getLogger(__name__)

#: What the HHT tells the hub about its CBKE timing, as the host party does (seconds).
KE_GENERATE_TIME_S = 10
KE_WAIT_TIME_S = 10
#: The NCP callbacks that end a CBKE step, with the step's result.
CBKE_CALLBACKS = ("generateCbkeKeysHandler283k1", "calculateSmacsHandler283k1")


class NcpCbkeError(Exception):
    """The NCP refused a CBKE command or reported a failed step."""


class CbkeNcp(Protocol):
    """What the party needs of the stick."""

    eui: EUI64 | None

    async def ncp_call(self, name: str, *args: Any) -> Any:
        """One EZSP command; its answer's fields."""

    async def cbke_step(self, command: str, callback: str, *args: Any) -> dict[str, Any]:
        """One CBKE command and the fields of the callback with its result;
        :class:`NcpCbkeError` when the NCP refuses or reports a failure."""

    def cbke_key_stored(self, peer: EUI64) -> None:
        """The NCP stored the link key its CBKE agreed with ``peer``."""


class NcpCbkeParty:
    """The initiator (the HHT) of a key establishment over the joined network, run by the
    stick's CBKE 283k1 library: the same exchange as :class:`webapp.zigbee.cbke.party.
    CbkeParty` (Initiate, Ephemeral Data, Confirm Key), with our certificate, ephemeral key
    and MACs from the NCP.  The link key stays in the stick (:attr:`link_key` is None)."""

    def __init__(self, radio: CbkeNcp, peer: EUI64) -> None:
        self.radio = radio
        self.peer_ieee = peer
        self.suite = SUITE_2
        self.state = CbkeState.IDLE
        self.failure = ""
        self.link_key: bytes | None = None
        self.terminate_status: TerminateStatus | int | None = None
        self._tsn = 0
        self._issuer = b""
        self._peer_certificate = b""
        self._responder_smac = b""
        self._ncp_busy = False  # the NCP holds temporary CBKE data

    @property
    def done(self) -> bool:
        return self.state == CbkeState.DONE

    @property
    def failed(self) -> bool:
        return self.state == CbkeState.TERMINATED

    async def start(self) -> bytes:
        """The Initiate Key Establishment request, with the certificate in the stick."""
        if self.state != CbkeState.IDLE:
            raise RuntimeError("only an idle initiator can start key establishment")
        status, raw = await self.radio.ncp_call("getCertificate283k1")
        certificate = bytes(raw)
        try:
            if not succeeded(status):
                raise CertificateError(f"the stick would not give it (status {status})")
            parsed = parse_certificate(certificate, self.suite)
        except CertificateError as exc:
            raise RadioError(
                ErrorCode.RADIO_FAULT, f"the stick's CBKE certificate is unusable: {exc}"
            ) from exc
        if self.radio.eui is not None and parsed.subject != self.radio.eui:
            log.warning(
                "the stick's certificate is for %s, the stick is %s", parsed.subject, self.radio.eui
            )
        self._issuer = parsed.issuer
        self.state = CbkeState.AWAIT_INITIATE
        log.info("key establishment with %s runs on the stick's CBKE engine", self.peer_ieee)
        return self._send(
            InitiateKeyEstablishment(
                suite=int(self.suite.id),
                ephemeral_data_generate_time=KE_GENERATE_TIME_S,
                confirm_key_generate_time=KE_GENERATE_TIME_S,
                identity=certificate,
            ),
            next_tsn=True,
        )

    async def receive(self, frame: bytes) -> bytes | None:
        """Consume one Key Establishment frame from the hub; the frame to send back, if any."""
        if self.state in (CbkeState.TERMINATED, CbkeState.DONE):
            return None
        try:
            header, command = decode_ke(frame)
        except FrameError as exc:
            return await self._abort(TerminateStatus.BAD_MESSAGE, f"undecodable frame: {exc}")
        if isinstance(command, TerminateKeyEstablishment):
            await self._forget(store=False)
            self.state = CbkeState.TERMINATED
            try:
                self.terminate_status = TerminateStatus(command.status)
                name = self.terminate_status.name
            except ValueError:
                self.terminate_status, name = command.status, f"status {command.status:#04x}"
            self.failure = f"peer terminated: {name}"
            log.info("key establishment terminated by the hub (%s)", self.failure)
            return None
        try:
            if header.direction != Direction.SERVER_TO_CLIENT:
                raise KeyEstablishmentAbort(
                    TerminateStatus.BAD_MESSAGE, "frame sent in the wrong direction"
                )
            if self.state == CbkeState.AWAIT_INITIATE and isinstance(
                command, InitiateKeyEstablishment
            ):
                return await self._on_initiate(command)
            if self.state == CbkeState.AWAIT_EPHEMERAL and isinstance(command, EphemeralData):
                return await self._on_ephemeral(command)
            if self.state == CbkeState.AWAIT_CONFIRM and isinstance(command, ConfirmKeyData):
                return await self._on_confirm(command)
            raise KeyEstablishmentAbort(
                TerminateStatus.BAD_MESSAGE,
                f"unexpected {type(command).__name__} in state {self.state.value}",
            )
        except KeyEstablishmentAbort as abort:
            return await self._abort(abort.status, abort.reason)

    async def _on_initiate(self, command: InitiateKeyEstablishment) -> bytes:
        if command.suite != int(self.suite.id):
            raise KeyEstablishmentAbort(
                TerminateStatus.UNSUPPORTED_SUITE, f"suite {command.suite:#06x} offered"
            )
        if len(command.identity) != self.suite.certificate_length:
            raise KeyEstablishmentAbort(TerminateStatus.BAD_MESSAGE, "identity of the wrong length")
        try:
            cert = parse_certificate(command.identity, self.suite)
        except CertificateError as exc:
            raise KeyEstablishmentAbort(TerminateStatus.INVALID_CERTIFICATE, str(exc)) from exc
        if cert.issuer != self._issuer:
            raise KeyEstablishmentAbort(
                TerminateStatus.UNKNOWN_ISSUER, f"issuer {cert.issuer.hex().upper()}"
            )
        if cert.subject != self.peer_ieee:
            raise KeyEstablishmentAbort(
                TerminateStatus.INVALID_CERTIFICATE,
                f"certificate subject {cert.subject} is not the sender {self.peer_ieee}",
            )
        self._peer_certificate = command.identity
        self._ncp_busy = True
        fields = await self._ncp(
            TerminateStatus.NO_RESOURCES, "generateCbkeKeys283k1", "generateCbkeKeysHandler283k1"
        )
        self.state = CbkeState.AWAIT_EPHEMERAL
        return self._send(EphemeralData(bytes(fields["ephemeralPublicKey"])), next_tsn=True)

    async def _on_ephemeral(self, command: EphemeralData) -> bytes:
        qev = command.data
        if len(qev) != self.suite.point_length or qev[0] not in (2, 3):
            raise KeyEstablishmentAbort(
                TerminateStatus.BAD_MESSAGE, "ephemeral key is not a compressed point"
            )
        fields = await self._ncp(
            TerminateStatus.BAD_MESSAGE,
            "calculateSmacs283k1",
            "calculateSmacsHandler283k1",
            t.Bool.true,
            t.EmberCertificate283k1Data(self._peer_certificate),
            t.EmberPublicKey283k1Data(qev),
        )
        self._responder_smac = bytes(fields["responderSmac"])
        self.state = CbkeState.AWAIT_CONFIRM
        return self._send(ConfirmKeyData(bytes(fields["initiatorSmac"])), next_tsn=True)

    async def _on_confirm(self, command: ConfirmKeyData) -> None:
        if not hmac.compare_digest(self._responder_smac, command.mac):
            raise KeyEstablishmentAbort(TerminateStatus.BAD_KEY_CONFIRM, "MACV does not match")
        if not await self._forget(store=True):
            raise KeyEstablishmentAbort(
                TerminateStatus.NO_RESOURCES, "the stick would not keep the link key"
            )
        self.radio.cbke_key_stored(self.peer_ieee)
        self.state = CbkeState.DONE
        log.info("key established with %s; the link key stays in the stick", self.peer_ieee)
        return None

    async def _ncp(
        self, status: TerminateStatus, command: str, callback: str, *args: Any
    ) -> dict[str, Any]:
        try:
            return await self.radio.cbke_step(command, callback, *args)
        except NcpCbkeError as exc:
            raise KeyEstablishmentAbort(status, f"the stick's CBKE failed: {exc}") from exc

    async def _forget(self, *, store: bool) -> bool:
        """End the NCP's part: keep the link key (``store``) or drop it; True when done."""
        if not self._ncp_busy:
            return not store
        self._ncp_busy = False
        try:
            (status,) = await self.radio.ncp_call(
                "clearTemporaryDataMaybeStoreLinkKey283k1", t.Bool(store)
            )
        except InvalidCommandError as exc:
            log.info("the stick would not clear its CBKE data: %s", exc)
            return False
        return succeeded(status)

    def _send(self, command: Any, *, next_tsn: bool = False) -> bytes:
        if next_tsn:
            self._tsn = (self._tsn + 1) & 0xFF
        return encode_ke(command, Direction.CLIENT_TO_SERVER, self._tsn)

    async def _abort(self, status: TerminateStatus, reason: str) -> bytes:
        self.state = CbkeState.TERMINATED
        self.terminate_status = status
        self.failure = f"{status.name}: {reason}"
        log.info("terminating key establishment on the stick (%s)", self.failure)
        await self._forget(store=False)
        return self._send(
            TerminateKeyEstablishment(int(status), KE_WAIT_TIME_S, int(self.suite.id))
        )
