"""Reading the hub's id (its GPF entity id, 16 hex digits) from its label.

The phone's camera reads the barcode itself where the browser can
(BarcodeDetector on a secure origin); everywhere else the installer takes a
photo and the HHT decodes it here.  Typed ids go through the same check.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from webapp.gbcs.eui import eui_text, find_eui_text

log = logging.getLogger(__name__)

MAX_PHOTO_BYTES = 15 * 1024 * 1024
MAX_PHOTO_PIXELS = 50_000_000  # refuse decompression bombs before decoding
DECODE_MAX_SIDE = 2400  # phone photos are downscaled to this before decoding


class HubLabelError(ValueError):
    """The photo or text gave no hub id; the message says what to do."""


@dataclass(frozen=True)
class HubLabel:
    hub_id: str
    symbology: str  # e.g. "Code128", "QRCode", "typed"


def barcode_hub_id(text: str) -> str | None:
    """The hub id a barcode holds: the whole content, or the one id standing inside it."""
    return eui_text(text) or find_eui_text(text)


def typed_hub_id(text: str) -> HubLabel:
    hub_id = eui_text(text) if isinstance(text, str) and len(text) <= 64 else None
    if hub_id is None:
        raise HubLabelError(
            "A hub id is 16 characters, 0-9 and A-F, as printed under the hub's barcode "
            "(for example 00-DB-12-34-56-78-90-A0)."
        )
    return HubLabel(hub_id, "typed")


def decode_photo(data: bytes) -> HubLabel:
    """Find the hub id barcode in a photo (JPEG, PNG, ...)."""
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise HubLabelError("The photo is empty. Take it again.")
    if len(data) > MAX_PHOTO_BYTES:
        raise HubLabelError("The photo is too large. Take it again at a lower resolution.")
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_PHOTO_PIXELS:
            raise HubLabelError("The photo is too large. Take it again at a lower resolution.")
        image = image.convert("L")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise HubLabelError("That file is not a photo this terminal can read.") from exc
    if max(image.size) > DECODE_MAX_SIDE:
        image.thumbnail((DECODE_MAX_SIDE, DECODE_MAX_SIDE))
    results = zxingcpp.read_barcodes(image)
    if not results:
        raise HubLabelError(
            "No barcode found. Hold the phone 10-20 cm from the label, in good light, "
            "and keep the whole barcode in the picture."
        )
    texts = []
    for result in results:
        hub_id = barcode_hub_id(result.text)
        if hub_id is not None:
            return HubLabel(hub_id, str(result.format).split(".")[-1])
        texts.append(result.text[:40])
    raise HubLabelError(
        "The barcode found does not hold a hub id (16 hex digits): " + ", ".join(texts)
    )
