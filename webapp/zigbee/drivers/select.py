"""Choosing the radio: ``sim``, ``ezsp:/dev/ttyUSB0``, ``deconz:/dev/ttyACM0`` or ``auto``.

``auto`` looks for a known stick, first by the names udev gives under /dev/serial/by-id,
then by the USB vendor and product ids of each serial device in /sys/class/tty, and falls
back to the simulator with a notice the pages show as a banner.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

KINDS = ("sim", "ezsp", "deconz")
BY_ID_DIR = Path("/dev/serial/by-id")
SYS_TTY_DIR = Path("/sys/class/tty")
TTY_PREFIXES = ("ttyUSB", "ttyACM")

#: Words in /dev/serial/by-id names, lower case, and the driver they mean.
NAME_HINTS: tuple[tuple[str, str], ...] = (
    ("conbee", "deconz"),
    ("raspbee", "deconz"),
    ("dresden_elektronik", "deconz"),
    ("zbdongle-e", "ezsp"),
    ("sonoff_zigbee_3.0_usb_dongle_plus_v2", "ezsp"),
    ("skyconnect", "ezsp"),
    ("home_assistant_connect_zbt-1", "ezsp"),
    ("efr32", "ezsp"),
    ("silicon_labs", "ezsp"),
)
#: USB (vendor, product) ids and the driver they mean.
USB_IDS: dict[tuple[str, str], str] = {
    ("1cf1", "0030"): "deconz",  # dresden elektronik ConBee II
    ("0403", "6015"): "deconz",  # FTDI FT230X on the ConBee (first generation) and ConBee III
    ("10c4", "ea60"): "ezsp",  # Silicon Labs CP210x on EFR32 sticks
    ("1a86", "55d4"): "ezsp",  # WCH CH9102 on the Sonoff ZBDongle-E
}


class RadioChoiceError(ValueError):
    """A ``--radio`` value that names no radio; the message says what would."""


@dataclass(frozen=True)
class RadioChoice:
    kind: str  # "sim", "ezsp" or "deconz"
    port: str | None = None
    notice: str | None = None  # shown as a banner: e.g. why auto fell back to sim

    def __str__(self) -> str:
        return self.kind if self.port is None else f"{self.kind}:{self.port}"


def parse_radio(text: str) -> RadioChoice | None:
    """The radio ``text`` names; None for ``auto``."""
    value = text.strip()
    if value == "auto":
        return None
    if value == "sim":
        return RadioChoice("sim")
    kind, sep, port = value.partition(":")
    if kind in ("ezsp", "deconz"):
        if not sep or not port:
            raise RadioChoiceError(
                f"--radio {kind} needs the stick's port, e.g. {kind}:/dev/ttyUSB0"
            )
        return RadioChoice(kind, port)
    raise RadioChoiceError(f"unknown radio {text!r}: use sim, ezsp:PORT, deconz:PORT or auto")


def detect_stick(by_id: Path | None = None, sys_tty: Path | None = None) -> RadioChoice | None:
    """The first known stick plugged in, or None."""
    by_id = BY_ID_DIR if by_id is None else by_id
    sys_tty = SYS_TTY_DIR if sys_tty is None else sys_tty
    if by_id.is_dir():
        for link in sorted(by_id.iterdir()):
            name = link.name.lower()
            for hint, kind in NAME_HINTS:
                if hint in name:
                    return RadioChoice(kind, str(link))
    if sys_tty.is_dir():
        for tty in sorted(sys_tty.iterdir()):
            if not tty.name.startswith(TTY_PREFIXES):
                continue
            ids = _usb_ids(tty)
            if ids in USB_IDS:
                return RadioChoice(USB_IDS[ids], f"/dev/{tty.name}")
    return None


def _usb_ids(tty: Path) -> tuple[str, str] | None:
    """(vendor, product) of the USB device behind a tty, read from sysfs."""
    device = tty / "device"
    for parent in (device, *device.resolve().parents[:4]) if device.exists() else ():
        vendor, product = parent / "idVendor", parent / "idProduct"
        if vendor.is_file() and product.is_file():
            return vendor.read_text().strip().lower(), product.read_text().strip().lower()
    return None


def choose_radio(text: str, *, by_id: Path = BY_ID_DIR, sys_tty: Path = SYS_TTY_DIR) -> RadioChoice:
    """The radio to open for ``--radio text``; ``auto`` falls back to sim with a notice."""
    chosen = parse_radio(text)
    if chosen is not None:
        return chosen
    found = detect_stick(by_id, sys_tty)
    if found is not None:
        log.info("radio auto: found %s", found)
        return found
    return RadioChoice(
        "sim",
        notice="No Zigbee stick found; running on the simulated HAN",
    )
