"""Opening a real stick: the driver for its kind, the terminal's provisioned credentials,
and the HHT's Zigbee stack over them.

The driver modules (and so bellows, zigpy-deconz and zigpy) are imported only when a stick
of their kind is opened.
"""

from __future__ import annotations

import logging
from pathlib import Path

from webapp.zigbee.drivers.base import RadioError
from webapp.zigbee.drivers.frames_base import FrameRadio
from webapp.zigbee.drivers.select import RadioChoice
from webapp.zigbee.provisioning import ProvisioningError, load_credentials
from webapp.zigbee.stack import ZigbeeStack
from webapp.zigbee.types import EUI64

log = logging.getLogger(__name__)


class StickError(RuntimeError):
    """The stick cannot be used, with the reason and what to do."""


def stick_radio(choice: RadioChoice) -> FrameRadio:
    """The frame radio for ``choice`` (not yet opened)."""
    if choice.port is None:
        raise StickError(f"radio {choice.kind} needs a port")
    if choice.kind == "ezsp":
        from webapp.zigbee.drivers.ezsp import EzspRadio

        return EzspRadio(choice.port)
    if choice.kind == "deconz":
        from webapp.zigbee.drivers.deconz import DeconzRadio

        return DeconzRadio(choice.port)
    raise StickError(f"no driver for radio {choice.kind!r}")


async def open_stick(choice: RadioChoice, data_dir: Path) -> ZigbeeStack:
    """The stack over the stick ``choice`` names, with this terminal's credentials."""
    try:
        provisioned = load_credentials(data_dir)
    except ProvisioningError as exc:
        raise StickError(f"Zigbee credentials unusable: {exc}") from exc
    if provisioned is None:
        raise StickError(
            "This terminal has no Zigbee credentials yet: provision them with "
            "'hht zigbee provision' before using a real stick."
        )
    radio = stick_radio(choice)
    try:
        await radio.reopen()
    except RadioError as exc:
        raise StickError(f"The {choice.kind} stick on {choice.port} did not open: {exc}") from exc
    log.info("radio %s open: %s", choice, radio.info.firmware)
    check_stick_address(radio, provisioned.credentials.ieee)
    return ZigbeeStack(radio, provisioned.credentials, provisioned.install_code)


def check_stick_address(radio: FrameRadio, subject: EUI64) -> None:
    """The stick's own EUI-64 must be the certificate's subject: the hub answers, and adds
    to its device log, the address the certificate names."""
    eui = getattr(radio, "eui", None)
    if eui is not None and eui != subject:
        raise StickError(
            f"The stick's address {eui} is not the one in this terminal's Zigbee certificate "
            f"({subject}): provision the credentials issued for this stick."
        )
