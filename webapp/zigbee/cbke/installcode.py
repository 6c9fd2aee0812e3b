"""Install codes: CRC-16/X-25 check and the derived preconfigured link key."""

from __future__ import annotations

from webapp.zigbee.cbke.aesmmo import aes_mmo_hash

INSTALL_CODE_LENGTHS = (6, 8, 12, 16)


class InstallCodeError(ValueError):
    """An install code of the wrong length or with a bad CRC."""


def crc16_x25(data: bytes) -> int:
    """CRC-16/X-25: reflected polynomial 0x1021 (0x8408), init 0xFFFF, xorout 0xFFFF."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def with_crc(code: bytes) -> bytes:
    """The code followed by its CRC, least significant octet first (as printed/transmitted)."""
    if len(code) not in INSTALL_CODE_LENGTHS:
        raise InstallCodeError(f"install code must be 6, 8, 12 or 16 octets, not {len(code)}")
    return code + crc16_x25(code).to_bytes(2, "little")


def check_install_code(code_and_crc: bytes) -> bytes:
    """Verify a code+CRC and return the code alone."""
    code, crc = code_and_crc[:-2], code_and_crc[-2:]
    if with_crc(code)[-2:] != crc:
        raise InstallCodeError("install code CRC does not match")
    return code


def link_key_from_install_code(code_and_crc: bytes) -> bytes:
    """The 16-octet link key: AES-MMO over the code and its CRC octets."""
    check_install_code(code_and_crc)
    return aes_mmo_hash(code_and_crc)
