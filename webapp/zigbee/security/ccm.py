"""AES-CCM* as Zigbee uses it (Zigbee spec annex A; security level 5, ENC-MIC-32).

CCM* differs from CCM (RFC 3610, NIST SP 800-38C) only in allowing a MIC of 0 octets;
with a 4-, 8- or 16-octet MIC the two are the same transformation.  Zigbee's 13-octet
nonce leaves a 2-octet length field (L = 2), exactly what ``AESCCM`` builds from a
13-octet nonce, so ``cryptography``'s AESCCM (OpenSSL, constant-time tag check) does the
work: correct by construction and far faster than CBC-MAC plus CTR in Python.  Only the
MIC-less levels (4, ENC) take the CTR path below, with the counter blocks CCM uses:
flags ``L - 1``, the nonce, a 2-octet block counter starting at 1.

Key objects are cached per key: building one costs about as much as sealing a frame.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import TYPE_CHECKING

from webapp.zigbee.security.errors import SecurityError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM

# ``cryptography`` is imported with the first key: a terminal that has secured no frame yet
# (a server just started) does without it.

KEY_LENGTH = 16
NONCE_LENGTH = 13
MIC_LENGTHS = (0, 4, 8, 16)
DEFAULT_MIC_LENGTH = 4
_L = 15 - NONCE_LENGTH  # octets of the CCM length field
_CACHED_KEYS = 64


def _check(key: bytes, nonce: bytes, mic_length: int) -> None:
    if len(key) != KEY_LENGTH:
        raise ValueError(f"CCM* key must be {KEY_LENGTH} octets, not {len(key)}")
    if len(nonce) != NONCE_LENGTH:
        raise ValueError(f"CCM* nonce must be {NONCE_LENGTH} octets, not {len(nonce)}")
    if mic_length not in MIC_LENGTHS:
        raise ValueError(f"CCM* MIC length must be one of {MIC_LENGTHS}, not {mic_length}")


@cache
def _invalid_tag() -> type[Exception]:
    """cryptography's failed-MIC exception (imported once, not on every frame)."""
    from cryptography.exceptions import InvalidTag

    return InvalidTag


@lru_cache(maxsize=_CACHED_KEYS)
def _aead(key: bytes, mic_length: int) -> AESCCM:
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM

    return AESCCM(key, tag_length=mic_length)


def _ctr(key: bytes, nonce: bytes, data: bytes) -> bytes:
    """CCM's encryption stream from block counter 1 (used when there is no MIC)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    first = bytes([_L - 1]) + nonce + (1).to_bytes(_L, "big")
    enc = Cipher(algorithms.AES(key), modes.CTR(first)).encryptor()
    return enc.update(data) + enc.finalize()


def encrypt(
    key: bytes,
    nonce: bytes,
    a_data: bytes,
    plaintext: bytes,
    mic_length: int = DEFAULT_MIC_LENGTH,
) -> bytes:
    """Ciphertext followed by the ``mic_length``-octet MIC over ``a_data`` and
    ``plaintext``.  With ``mic_length`` 0, ``a_data`` is not protected (level ENC)."""
    _check(key, nonce, mic_length)
    if mic_length == 0:
        return _ctr(key, nonce, plaintext)
    return _aead(bytes(key), mic_length).encrypt(nonce, plaintext, a_data)


def decrypt(
    key: bytes,
    nonce: bytes,
    a_data: bytes,
    ciphertext_and_mic: bytes,
    mic_length: int = DEFAULT_MIC_LENGTH,
) -> bytes:
    """The plaintext; SecurityError when the MIC does not match (or is missing)."""
    _check(key, nonce, mic_length)
    if mic_length == 0:
        return _ctr(key, nonce, ciphertext_and_mic)
    if len(ciphertext_and_mic) < mic_length:
        raise SecurityError(
            f"secured payload of {len(ciphertext_and_mic)} octets is shorter than its "
            f"{mic_length}-octet MIC"
        )
    try:
        return _aead(bytes(key), mic_length).decrypt(nonce, ciphertext_and_mic, a_data)
    except _invalid_tag():  # evaluated only when decrypting failed
        raise SecurityError("MIC mismatch (wrong key, nonce or altered frame)") from None
