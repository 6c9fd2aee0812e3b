"""Hashing PINs and passwords with scrypt (standard library, memory-hard)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
KEY_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _stored(salt: bytes, key: bytes) -> str:
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    key = hashlib.scrypt(
        secret.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=KEY_BYTES
    )
    return _stored(salt, key)


#: What a login for a name nobody has is checked against: the same scheme and cost as a
#: real user's hash, with a random key no secret hashes to (so nothing ever matches it).
#: Checking against it takes the time a real user's check does, and no hashing to make.
DUMMY_HASH = _stored(secrets.token_bytes(SALT_BYTES), secrets.token_bytes(KEY_BYTES))


def check_secret(secret: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_b64, key_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        salt = base64.b64decode(salt_b64)
        expected = base64.b64decode(key_b64)
        key = hashlib.scrypt(
            secret.encode(), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(key, expected)
