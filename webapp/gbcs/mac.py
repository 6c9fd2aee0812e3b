"""The 12-octet GMAC of the General-Ciphering (MAC) wrapper.

Real GBCS MAC keys are derived by ECDH between Key-Agreement keys (for commands, the Access
Control Broker's private key and the device's public key). An HHT never holds such private
keys, so it cannot verify a real MAC; it reports MACs as "present, not verifiable here". The
simulated HAN uses these functions with keys of its own test PKI, or with a per-device shared
key, so that it can check and produce MACs of the right shape.

The GMAC: AES-128-GCM over no plaintext, IV = originator system title (8) || invocation
counter (4), additional authenticated data = security header (5) || 0x00 || the
General-Signing APDU, tag truncated to 12 octets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

# AES-GCM and SHA-256 are imported where a MAC is made or a key derived: reading a message
# (``hht parse``) never needs them, and their imports cost a one-shot parse start-up time.

MAC_LENGTH = 12
IV_COUNTER_LENGTH = 4
KEY_LENGTH = 16
KDF_ALGORITHM_ID = bytes.fromhex("60857406080300")


def gcm_iv(originator: bytes, invocation_counter: int) -> bytes:
    """IV = originator system title (8 octets) || invocation counter (4 octets, big-endian)."""
    if len(originator) != 8:
        raise ValueError("originator system title must be 8 octets")
    if not 0 <= invocation_counter < 1 << 32:
        raise ValueError("invocation counter must fit in 4 octets")
    return originator + invocation_counter.to_bytes(IV_COUNTER_LENGTH, "big")


def mac_authenticated_data(security_header: bytes, general_signing: bytes) -> bytes:
    """What the MAC covers: security header || 0x00 || General-Signing APDU."""
    return bytes(security_header) + b"\x00" + bytes(general_signing)


def compute_mac(
    mac_key: bytes, originator: bytes, invocation_counter: int, authenticated: bytes
) -> bytes:
    """AES-GCM over no plaintext with ``authenticated`` as additional data, tag cut to 12."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    tag = AESGCM(mac_key).encrypt(gcm_iv(originator, invocation_counter), b"", authenticated)
    return tag[:MAC_LENGTH]


def derive_key(
    private_key: ec.EllipticCurvePrivateKey,
    peer_public_key: ec.EllipticCurvePublicKey,
    originator: bytes,
    transaction_id: bytes,
    recipient: bytes,
) -> bytes:
    """The per-message AES key: ECDH over Key-Agreement keys, then a one-pass SHA-256 KDF.

    ``transaction_id`` is the CRA flag and the 8-octet originator counter (9 octets); the KDF
    other-info is algorithm id || originator || 0x09 || transaction id || recipient.
    """
    import hashlib

    from cryptography.hazmat.primitives.asymmetric import ec

    shared = private_key.exchange(ec.ECDH(), peer_public_key)
    other_info = KDF_ALGORITHM_ID + originator + bytes([len(transaction_id)])
    other_info += transaction_id + recipient
    return hashlib.sha256(b"\x00\x00\x00\x01" + shared + other_info).digest()[:KEY_LENGTH]
