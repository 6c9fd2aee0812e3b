"""The Zigbee auxiliary security header (Zigbee spec 4.5.1) and the CCM* nonce.

Layout, all little-endian: security control (1 octet: bits 0-2 security level, 3-4 key
identifier, 5 extended nonce, 6-7 reserved), frame counter (4), source address (8, EUI-64
LSB first; only with the extended nonce bit), key sequence number (1; only for the
network key).

Zigbee PRO sends the security level as 0 over the air and both ends substitute the real
level (nwkSecurityLevel, always 5) when they build the nonce and the a-data, so the bytes
on air and the bytes the MIC covers differ in those three bits.

Nonce (13 octets): source EUI-64 (LSB first), frame counter (LSB first), then the
security control octet with the real level (as Wireshark's packet-zbee-security.c builds
it).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from webapp.zigbee.types import EUI64, FrameError, Reader

SECURITY_LEVEL_ENC_MIC32 = 5
LEVEL_MASK = 0x07
KEY_ID_SHIFT = 3
KEY_ID_MASK = 0x18
EXTENDED_NONCE = 0x20
RESERVED_MASK = 0xC0
MAX_FRAME_COUNTER = 0xFFFFFFFF
NONCE_LENGTH = 13
MIC_LENGTH_BY_LEVEL = {0: 0, 1: 4, 2: 8, 3: 16, 4: 0, 5: 4, 6: 8, 7: 16}
_CONTROL_COUNTER = struct.Struct("<BI")  # security control, frame counter
_NONCE = struct.Struct("<QIB")  # source, frame counter, security control


class KeyId(IntEnum):
    """Which key secured the frame (security control bits 3-4)."""

    DATA = 0  # a link key
    NETWORK = 1
    KEY_TRANSPORT = 2  # HMAC of the link key over 0x00
    KEY_LOAD = 3  # HMAC of the link key over 0x02


@dataclass(frozen=True)
class SecurityHeader:
    """The auxiliary header: ``key_id``; ``frame_counter`` (32 bits); ``source``, the
    sender's EUI-64 when the header carries it (extended nonce); ``key_seq``, the network
    key's sequence number (present exactly when ``key_id`` is NETWORK); ``level``, the real
    security level (5), used for the nonce and the a-data, never sent."""

    key_id: KeyId
    frame_counter: int
    source: EUI64 | None = None
    key_seq: int | None = None
    level: int = SECURITY_LEVEL_ENC_MIC32

    def __post_init__(self) -> None:
        if not 0 <= self.frame_counter <= MAX_FRAME_COUNTER:
            raise ValueError(f"frame counter out of range: {self.frame_counter}")
        if not 0 <= self.level <= LEVEL_MASK:
            raise ValueError(f"security level out of range: {self.level}")
        if (self.key_seq is not None) != (self.key_id == KeyId.NETWORK):
            raise ValueError("a key sequence number goes with the network key, and only it")
        if self.key_seq is not None and not 0 <= self.key_seq <= 0xFF:
            raise ValueError(f"key sequence number out of range: {self.key_seq}")

    @property
    def mic_length(self) -> int:
        return MIC_LENGTH_BY_LEVEL[self.level]

    def control(self, over_the_air: bool = True) -> int:
        """The security control octet; its level bits are 0 over the air."""
        level = 0 if over_the_air else self.level
        fc = level | int(self.key_id) << KEY_ID_SHIFT
        return fc | (EXTENDED_NONCE if self.source is not None else 0)

    def to_bytes(self, over_the_air: bool = True) -> bytes:
        """The header as sent (``over_the_air``) or as the MIC covers it (real level)."""
        out = _CONTROL_COUNTER.pack(self.control(over_the_air), self.frame_counter)
        if self.source is not None:
            out += self.source.le
        if self.key_seq is not None:
            out += bytes((self.key_seq,))
        return out

    @property
    def length(self) -> int:
        """Octets of the header on air."""
        return 5 + (8 if self.source is not None else 0) + (self.key_seq is not None)

    @classmethod
    def read(cls, r: Reader, level: int = SECURITY_LEVEL_ENC_MIC32) -> SecurityHeader:
        """Read the header; the level sent is ignored and ``level`` (the network's) used,
        as Zigbee PRO receivers do."""
        control, counter = _CONTROL_COUNTER.unpack(r.take(_CONTROL_COUNTER.size))
        if control & RESERVED_MASK:
            raise FrameError(f"reserved bits set in security control 0x{control:02X}")
        key_id = KeyId((control & KEY_ID_MASK) >> KEY_ID_SHIFT)
        source = r.eui64() if control & EXTENDED_NONCE else None
        key_seq = r.u8() if key_id == KeyId.NETWORK else None
        return cls(key_id, counter, source, key_seq, level)

    def nonce(self, source: EUI64) -> bytes:
        """The 13-octet CCM* nonce for a frame from ``source`` (the header's own source
        when it carries one; the caller passes it either way)."""
        return _NONCE.pack(source.value, self.frame_counter, self.control(over_the_air=False))
