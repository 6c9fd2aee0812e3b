"""AES-MMO hash (Zigbee spec B.6, Matyas-Meyer-Oseas over AES-128) and HMAC-AES-MMO."""

from __future__ import annotations

BLOCK = 16
_LONG_MESSAGE_OCTETS = 1 << 13  # from 2^16 bits the length field is 32 bits + 16 zero bits


def _encrypt_block(key: bytes, block: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def mmo_pad(message: bytes) -> bytes:
    """Append 1, zeros and the bit length so the result is a multiple of 16 octets."""
    bits = 8 * len(message)
    if len(message) < _LONG_MESSAGE_OCTETS:
        tail = bits.to_bytes(2, "big")
    else:
        tail = bits.to_bytes(4, "big") + b"\x00\x00"
    padded = message + b"\x80"
    zeros = (-(len(padded) + len(tail))) % BLOCK
    return padded + b"\x00" * zeros + tail


def aes_mmo_hash(message: bytes) -> bytes:
    """The 16-octet AES-MMO digest of ``message``."""
    data = mmo_pad(message)
    h = bytes(BLOCK)
    for i in range(0, len(data), BLOCK):
        block = data[i : i + BLOCK]
        e = _encrypt_block(h, block)
        h = bytes(x ^ y for x, y in zip(e, block, strict=True))
    return h


def hmac_aes_mmo(key: bytes, message: bytes) -> bytes:
    """HMAC (FIPS 198) with AES-MMO as the hash: block and output size 16 octets."""
    if len(key) > BLOCK:
        key = aes_mmo_hash(key)
    key = key.ljust(BLOCK, b"\x00")
    ipad = bytes(k ^ 0x36 for k in key)
    opad = bytes(k ^ 0x5C for k in key)
    return aes_mmo_hash(opad + aes_mmo_hash(ipad + message))
