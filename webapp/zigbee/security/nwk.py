"""NWK frame security (Zigbee spec 4.3.1): the NWK header with its security bit, the
auxiliary header (network key, extended nonce, key sequence number), then the payload
encrypted with CCM* and its MIC.  The MIC covers the NWK header and the auxiliary header
with the real security level (a-data); the frame carries level 0."""

from __future__ import annotations

from collections.abc import Callable

from webapp.zigbee.frames.nwk import NwkHeader
from webapp.zigbee.security.errors import SecurityError
from webapp.zigbee.security.header import KeyId, SecurityHeader
from webapp.zigbee.security.sealing import read_secured, seal, unseal
from webapp.zigbee.types import EUI64, FrameError, Reader

KeyLookup = Callable[[int], bytes | None]
_FC_SECURITY_OCTET = 1  # NWK frame control bit 9 (security) is bit 1 of its second octet
_FC_SECURITY_BIT = 0x02


def secure_nwk(
    header: NwkHeader,
    payload: bytes,
    *,
    key: bytes,
    key_seq: int,
    frame_counter: int,
    source: EUI64,
) -> bytes:
    """The whole secured NWK frame: header (security bit set), auxiliary header with
    ``source`` and ``key_seq``, ``payload`` encrypted under the network ``key``, MIC."""
    nwk = bytearray(header.to_bytes())
    nwk[_FC_SECURITY_OCTET] |= _FC_SECURITY_BIT
    aux = SecurityHeader(KeyId.NETWORK, frame_counter, source, key_seq)
    return seal(bytes(nwk), aux, key, source, payload)


def _split(raw: bytes) -> tuple[NwkHeader, SecurityHeader | None, int, bytes]:
    """Header, auxiliary header, the offset of the auxiliary header, and the rest."""
    r = Reader(raw, "NWK frame")
    header = NwkHeader.read(r)
    if not header.security:
        return header, None, r.pos, r.rest()
    aux, offset, body = read_secured(r, "NWK")
    if aux.key_id != KeyId.NETWORK:
        raise SecurityError(f"NWK frame secured with the {aux.key_id.name} key, not NETWORK")
    return header, aux, offset, body


def read_nwk(raw: bytes) -> tuple[NwkHeader, SecurityHeader | None, bytes]:
    """Parse without decrypting: header, auxiliary header (None when unsecured), and the
    payload (for a secured frame, ciphertext and MIC).  FrameError on malformed input."""
    header, aux, _, body = _split(raw)
    return header, aux, body


def open_nwk(raw: bytes, key_for: KeyLookup) -> tuple[NwkHeader, SecurityHeader, bytes]:
    """Check and decrypt a secured NWK frame: header, auxiliary header, plaintext.

    ``key_for`` maps the frame's key sequence number to the network key (None when there
    is no such key).  SecurityError for an unsecured, malformed or truncated frame, an
    unknown key, or a MIC that does not match (frame counters are the caller's:
    see counters.IncomingCounters)."""
    try:
        header, aux, offset, body = _split(raw)
    except SecurityError:
        raise
    except FrameError as e:
        raise SecurityError(str(e)) from e
    if aux is None:
        raise SecurityError("NWK frame is not secured")
    assert aux.key_seq is not None  # the network key always carries one
    key = key_for(aux.key_seq)
    if key is None:
        raise SecurityError(f"no network key with sequence number {aux.key_seq}")
    source = aux.source if aux.source is not None else header.src_ieee
    if source is None:
        raise SecurityError("secured NWK frame names no extended source for the nonce")
    return header, aux, unseal(raw, offset, aux, body, key, source)
