"""Keys hashed from a link key (Zigbee spec 4.5.3, 4.4.1.1 and B.1.4): the key-transport
key secures Transport Key commands carrying a network key, the key-load key those
carrying a link key.  Each is HMAC-AES-MMO keyed with the link key over one octet."""

from __future__ import annotations

from functools import lru_cache

from webapp.zigbee.cbke.aesmmo import hmac_aes_mmo

LINK_KEY_LENGTH = 16
KEY_TRANSPORT_TAG = b"\x00"
KEY_LOAD_TAG = b"\x02"
_CACHED_KEYS = 64


@lru_cache(maxsize=_CACHED_KEYS)
def _hashed(link_key: bytes, tag: bytes) -> bytes:
    if len(link_key) != LINK_KEY_LENGTH:
        raise ValueError(f"link key must be {LINK_KEY_LENGTH} octets, not {len(link_key)}")
    return hmac_aes_mmo(link_key, tag)


def key_transport_key(link_key: bytes) -> bytes:
    """The 16-octet key-transport key: HMAC-AES-MMO(link key, 0x00)."""
    return _hashed(bytes(link_key), KEY_TRANSPORT_TAG)


def key_load_key(link_key: bytes) -> bytes:
    """The 16-octet key-load key: HMAC-AES-MMO(link key, 0x02)."""
    return _hashed(bytes(link_key), KEY_LOAD_TAG)
