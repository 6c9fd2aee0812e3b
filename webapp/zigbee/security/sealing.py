"""Sealing and opening a frame's payload under CCM*, the same for the NWK and APS layers:
the a-data is the layer's header and its auxiliary header with the real security level,
the nonce comes from the sender's address, the frame counter and the security control."""

from __future__ import annotations

from webapp.zigbee.security import ccm
from webapp.zigbee.security.header import SecurityHeader
from webapp.zigbee.types import EUI64, FrameError, Reader


def seal(header: bytes, aux: SecurityHeader, key: bytes, source: EUI64, payload: bytes) -> bytes:
    """``header``, the auxiliary header as sent, then ``payload`` encrypted and its MIC."""
    a_data = header + aux.to_bytes(over_the_air=False)
    sealed = ccm.encrypt(key, aux.nonce(source), a_data, payload, aux.mic_length)
    return header + aux.to_bytes() + sealed


def read_secured(r: Reader, layer: str) -> tuple[SecurityHeader, int, bytes]:
    """The auxiliary header at ``r``, where it starts, and the ciphertext and MIC after
    it; FrameError for a frame too short to hold its MIC."""
    offset = r.pos
    aux = SecurityHeader.read(r)
    body = r.rest()
    if len(body) < aux.mic_length:
        raise FrameError(
            f"secured {layer} frame truncated: {len(body)} octets after the security header, "
            f"shorter than the {aux.mic_length}-octet MIC"
        )
    return aux, offset, body


def unseal(
    raw: bytes, offset: int, aux: SecurityHeader, body: bytes, key: bytes, source: EUI64
) -> bytes:
    """The plaintext of ``body`` (SecurityError when the MIC does not match)."""
    a_data = raw[:offset] + aux.to_bytes(over_the_air=False)
    return ccm.decrypt(key, aux.nonce(source), a_data, body, aux.mic_length)
