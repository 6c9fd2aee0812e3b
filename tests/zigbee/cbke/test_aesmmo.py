from __future__ import annotations

import pytest

from webapp.zigbee.cbke.aesmmo import aes_mmo_hash, hmac_aes_mmo, mmo_pad
from webapp.zigbee.cbke.installcode import (
    InstallCodeError,
    check_install_code,
    crc16_x25,
    link_key_from_install_code,
    with_crc,
)

from ..vectors import by_kind, h


def _message(entry: dict) -> bytes:
    fields = entry["fields"]
    if "message" in fields:
        return h(fields["message"])
    length = int(fields["message_length_octets_hex"], 16)
    return bytes(i % 256 for i in range(length))


@pytest.mark.parametrize("entry", by_kind("aes_mmo_hash"), ids=lambda e: e["name"][:60])
def test_aes_mmo_hash_vectors(entry: dict) -> None:
    assert aes_mmo_hash(_message(entry)) == h(entry["fields"]["digest"])


@pytest.mark.parametrize("entry", by_kind("hmac_aes_mmo"), ids=lambda e: e["name"][:60])
def test_hmac_vectors(entry: dict) -> None:
    f = entry["fields"]
    assert hmac_aes_mmo(h(f["key"]), h(f["message"])) == h(f["mac"])


def test_padding_switches_to_long_form_at_8192_octets() -> None:
    assert mmo_pad(bytes(8191))[-2:] == (8191 * 8).to_bytes(2, "big")
    long = mmo_pad(bytes(8192))
    assert long[-6:] == (8192 * 8).to_bytes(4, "big") + b"\x00\x00"
    for n in (0, 1, 13, 14, 15, 16, 8190, 8191, 8192, 8201, 8202):
        assert len(mmo_pad(bytes(n))) % 16 == 0


@pytest.mark.parametrize("entry", by_kind("install_code"), ids=lambda e: e["name"][:60])
def test_install_code_to_link_key(entry: dict) -> None:
    f = entry["fields"]
    code = h(f["install_code"])
    assert crc16_x25(code) == int(f["crc_value"], 16)
    assert with_crc(code) == h(f["hash_input"])
    assert link_key_from_install_code(h(f["hash_input"])) == h(f["link_key"])


def test_install_code_crc_only_vector() -> None:
    (entry,) = by_kind("install_code_crc")
    f = entry["fields"]
    assert with_crc(h(f["install_code"]))[-2:] == h(f["crc_octets_as_transmitted"])


def test_crc_definition_check_value() -> None:
    (entry,) = by_kind("definition")
    assert crc16_x25(b"123456789") == int(entry["fields"]["check_over_ascii_123456789"], 16)


def test_bad_install_codes_are_refused() -> None:
    good = h("83FED3407A939723A5C639B26916D505C3B5")
    assert check_install_code(good) == good[:-2]
    with pytest.raises(InstallCodeError):
        link_key_from_install_code(good[:-1] + b"\x00")
    with pytest.raises(InstallCodeError):
        with_crc(bytes(7))
