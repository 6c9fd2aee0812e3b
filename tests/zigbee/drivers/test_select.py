"""Choosing the radio from --radio, and finding a stick for --radio auto."""

from __future__ import annotations

from pathlib import Path

import pytest

from webapp.zigbee.drivers.select import (
    RadioChoice,
    RadioChoiceError,
    choose_radio,
    detect_stick,
    parse_radio,
)


def test_parse_named_radios() -> None:
    assert parse_radio("sim") == RadioChoice("sim")
    assert parse_radio("ezsp:/dev/ttyUSB0") == RadioChoice("ezsp", "/dev/ttyUSB0")
    assert parse_radio(" deconz:/dev/ttyACM0 ") == RadioChoice("deconz", "/dev/ttyACM0")
    assert parse_radio("auto") is None


@pytest.mark.parametrize(
    "text, problem",
    [
        ("ezsp", "needs the stick's port"),
        ("deconz:", "needs the stick's port"),
        ("znp:/x", "unknown radio"),
    ],
)
def test_bad_radio_names_say_what_would_do(text: str, problem: str) -> None:
    with pytest.raises(RadioChoiceError, match=problem):
        parse_radio(text)


def fake_by_id(root: Path, *names: str) -> Path:
    by_id = root / "by-id"
    by_id.mkdir()
    for name in names:
        (by_id / name).symlink_to("/dev/null")
    return by_id


def fake_tty(root: Path, name: str, vendor: str, product: str) -> Path:
    sys_tty = root / "tty"
    usb = root / "devices" / "usb1" / "1-1"
    interface = usb / "1-1:1.0"
    interface.mkdir(parents=True)
    (usb / "idVendor").write_text(vendor + "\n")
    (usb / "idProduct").write_text(product + "\n")
    (sys_tty / name).mkdir(parents=True)
    (sys_tty / name / "device").symlink_to(interface)
    return sys_tty


def test_auto_finds_a_conbee_by_name(tmp_path: Path) -> None:
    by_id = fake_by_id(
        tmp_path, "usb-Logitech_USB_Receiver-if02", "usb-dresden_elektronik_ConBee_II_DE2-if00"
    )
    found = detect_stick(by_id, tmp_path / "none")
    assert found is not None and found.kind == "deconz"
    assert found.port == str(by_id / "usb-dresden_elektronik_ConBee_II_DE2-if00")


def test_auto_finds_an_efr32_by_usb_ids(tmp_path: Path) -> None:
    sys_tty = fake_tty(tmp_path, "ttyUSB0", "10c4", "EA60")
    assert detect_stick(tmp_path / "none", sys_tty) == RadioChoice("ezsp", "/dev/ttyUSB0")


def test_auto_without_a_stick_falls_back_to_sim_with_a_notice(tmp_path: Path) -> None:
    sys_tty = fake_tty(tmp_path, "ttyUSB0", "046d", "c52b")  # a keyboard receiver
    chosen = choose_radio("auto", by_id=tmp_path / "none", sys_tty=sys_tty)
    assert chosen.kind == "sim" and chosen.notice and "simulated" in chosen.notice
    assert choose_radio("sim").notice is None


def test_a_stick_whose_address_is_not_the_certificates_is_refused() -> None:
    from types import SimpleNamespace

    from webapp.zigbee.sticks import StickError, check_stick_address
    from webapp.zigbee.types import EUI64

    mine = EUI64.from_hex("70B3D5FFFE00A001")
    check_stick_address(SimpleNamespace(eui=mine), mine)  # the same: fine
    check_stick_address(SimpleNamespace(eui=None), mine)  # not read yet: nothing to check
    with pytest.raises(StickError, match="not the one in this terminal's Zigbee certificate"):
        check_stick_address(SimpleNamespace(eui=EUI64.from_hex("00124B0001C0FFEE")), mine)
