"""ECMQV shared secret (SEC 1 3.4, with cofactor) and the CBKE key derivation and MACs."""

from __future__ import annotations

from webapp.zigbee.cbke.aesmmo import aes_mmo_hash, hmac_aes_mmo
from webapp.zigbee.cbke.curves import KoblitzCurve, PointError
from webapp.zigbee.types import EUI64

MACU_TAG = b"\x02"
MACV_TAG = b"\x03"


def associate_value(curve: KoblitzCurve, point: tuple[int, int]) -> int:
    """avf(Q) = (x mod 2^ceil(f/2)) + 2^ceil(f/2), f = bit length of n."""
    half = (curve.n.bit_length() + 1) // 2
    return (point[0] & ((1 << half) - 1)) | (1 << half)


def ecmqv(
    curve: KoblitzCurve,
    own_static_private: int,
    own_ephemeral_private: int,
    own_ephemeral_public: tuple[int, int],
    peer_static_public: tuple[int, int],
    peer_ephemeral_public: tuple[int, int],
) -> bytes:
    """The shared secret Z (the x coordinate, as field octets)."""
    n = curve.n
    s = (
        own_ephemeral_private + associate_value(curve, own_ephemeral_public) * own_static_private
    ) % n
    # h*s and h*s*avf stay unreduced: the cofactor must act on the peer's points as given
    hs = curve.h * s
    peer_avf = associate_value(curve, peer_ephemeral_public)
    p = curve.mul2(hs, peer_ephemeral_public, hs * peer_avf, peer_static_public)
    if p is None:
        raise PointError("ECMQV gave the point at infinity")
    return curve.field.to_bytes(p[0])


def derive_keys(z: bytes) -> tuple[bytes, bytes]:
    """(MacKey, KeyData) = (AES-MMO(Z || 00000001), AES-MMO(Z || 00000002))."""
    return aes_mmo_hash(z + b"\x00\x00\x00\x01"), aes_mmo_hash(z + b"\x00\x00\x00\x02")


def mac_u(mac_key: bytes, u: EUI64, v: EUI64, qeu: bytes, qev: bytes) -> bytes:
    """MACU = HMAC(MacKey, 02 || U || V || QEU || QEV): sent by the initiator U."""
    return hmac_aes_mmo(mac_key, MACU_TAG + u.be + v.be + qeu + qev)


def mac_v(mac_key: bytes, u: EUI64, v: EUI64, qeu: bytes, qev: bytes) -> bytes:
    """MACV = HMAC(MacKey, 03 || V || U || QEV || QEU): sent by the responder V."""
    return hmac_aes_mmo(mac_key, MACV_TAG + v.be + u.be + qev + qeu)
