"""APS frame security (Zigbee spec 4.4.1): the APS header with its security bit, the
auxiliary header, then the payload encrypted with CCM* and its MIC.  The MIC covers the
APS header and the auxiliary header with the real security level.

The key passed is always the link key: for KEY_TRANSPORT and KEY_LOAD frames the hashed
key (keys.py) is derived here.  Without the extended nonce the sender's EUI-64 is not in
the frame and the receiver supplies it (from the NWK auxiliary header or its tables).
"""

from __future__ import annotations

from webapp.zigbee.frames.aps import ApsFrameType, ApsHeader
from webapp.zigbee.security.errors import SecurityError
from webapp.zigbee.security.header import KeyId, SecurityHeader
from webapp.zigbee.security.keys import key_load_key, key_transport_key
from webapp.zigbee.security.sealing import read_secured, seal, unseal
from webapp.zigbee.types import EUI64, FrameError, Reader

_FC_SECURITY = 0x20  # APS frame control bit 5


def aps_key(link_key: bytes, key_id: KeyId) -> bytes:
    """The key CCM* uses for an APS frame secured with ``key_id``."""
    if key_id == KeyId.DATA:
        return link_key
    if key_id == KeyId.KEY_TRANSPORT:
        return key_transport_key(link_key)
    if key_id == KeyId.KEY_LOAD:
        return key_load_key(link_key)
    raise ValueError("APS frames are secured with a link key or a key hashed from one")


def secure_aps(
    header: ApsHeader,
    payload: bytes,
    *,
    key: bytes,
    key_id: KeyId,
    frame_counter: int,
    source: EUI64,
    extended_nonce: bool,
) -> bytes:
    """The whole secured APS frame: header (security bit set), auxiliary header
    (``source`` in it when ``extended_nonce``), ``payload`` encrypted, MIC.  ``key`` is the
    link key; the key-transport and key-load keys are hashed from it."""
    if header.frame_type == ApsFrameType.INTER_PAN:
        raise ValueError("Inter-PAN frames are not secured")
    cipher_key = aps_key(key, key_id)
    aps = bytearray(header.to_bytes())
    aps[0] |= _FC_SECURITY
    aux = SecurityHeader(key_id, frame_counter, source if extended_nonce else None)
    return seal(bytes(aps), aux, cipher_key, source, payload)


def _split(raw: bytes) -> tuple[ApsHeader, SecurityHeader | None, int, bytes]:
    r = Reader(raw, "APS frame")
    header = ApsHeader.read(r)
    if not header.security:
        return header, None, r.pos, r.rest()
    aux, offset, body = read_secured(r, "APS")
    if aux.key_id == KeyId.NETWORK:
        raise SecurityError("APS frame secured with the network key")
    return header, aux, offset, body


def read_aps(raw: bytes) -> tuple[ApsHeader, SecurityHeader | None, bytes]:
    """Parse without decrypting: header, auxiliary header (None when unsecured), payload
    (ciphertext and MIC when secured).  FrameError on malformed input."""
    header, aux, _, body = _split(raw)
    return header, aux, body


def open_aps(raw: bytes, *, key: bytes, source: EUI64) -> tuple[ApsHeader, SecurityHeader, bytes]:
    """Check and decrypt a secured APS frame: header, auxiliary header, plaintext.

    ``key`` is the link key shared with the sender (hashed here for KEY_TRANSPORT and
    KEY_LOAD frames); ``source`` is the sender's EUI-64, used for the nonce when the
    auxiliary header does not carry it.  SecurityError for an unsecured, malformed or
    truncated frame or a MIC that does not match."""
    try:
        header, aux, offset, body = _split(raw)
    except SecurityError:
        raise
    except FrameError as e:
        raise SecurityError(str(e)) from e
    if aux is None:
        raise SecurityError("APS frame is not secured")
    sender = aux.source if aux.source is not None else source
    return header, aux, unseal(raw, offset, aux, body, aps_key(key, aux.key_id), sender)
