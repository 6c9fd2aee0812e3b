"""Reading the hub's id (its GPF entity id, 16 hex digits) from its label.

The phone's camera reads the barcode itself where the browser can
(BarcodeDetector on a secure origin); everywhere else the installer takes a
photo and the HHT decodes it here.  Typed ids go through the same check.

A photo costs memory only once it is decoded, so the size its header declares is
judged first: JPEGs are decoded at 1/2 to 1/8 scale where that still leaves enough
pixels to read a label (libjpeg's own scaling, before any pixel is held), and nothing
larger than :data:`MAX_DECODED_PIXELS` is ever decoded.  One photo is decoded at a
time, always on the same thread, so its memory comes from one malloc arena and goes
back to it (a freed image in each request thread's arena would stay resident).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import io
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from webapp.gbcs.eui import eui_text, find_eui_text

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

MAX_PHOTO_BYTES = 15 * 1024 * 1024
#: The most pixels ever decoded: a 16 Mpx phone camera's full frame (4608 x 3456); the
#: usual 12 Mpx (4032 x 3024) and binned 50 Mpx (4080 x 3060) frames fit under it.
MAX_DECODED_PIXELS = 16_000_000
#: The most a header may declare: a 48-50 Mpx full-resolution JPEG, which decodes at 1/2
#: scale under the cap above; anything else that large is refused unread.
MAX_DECLARED_PIXELS = 64_000_000
DECODE_MAX_SIDE = 2400  # photos are scaled to fit this before the barcode is looked for
DECODES_AT_ONCE = 1  # a Pi holds one decoded photo at a time
DECODE_WAIT_S = 8.0  # how long a second photo waits for the first before "busy"

TOO_LARGE = "The photo is too large. Take it again at a lower resolution."
NOT_A_PHOTO = "That file is not a photo this terminal can read."
BUSY = "The terminal is reading another photo. Send this one again in a few seconds."

_decode_slots = threading.BoundedSemaphore(DECODES_AT_ONCE)


class HubLabelError(ValueError):
    """The photo or text gave no hub id; the message says what to do."""


class HubLabelBusy(HubLabelError):
    """Another photo is being decoded; this one was not looked at."""


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
    """Find the hub id barcode in a photo (JPEG, PNG, ...), one photo at a time."""
    if not data:
        raise HubLabelError("The photo is empty. Take it again.")
    if len(data) > MAX_PHOTO_BYTES:
        raise HubLabelError(TOO_LARGE)
    if not _decode_slots.acquire(timeout=DECODE_WAIT_S):
        raise HubLabelBusy(BUSY)
    try:
        texts = _decoder().submit(_read_barcodes, data).result()
    finally:
        _decode_slots.release()
    if not texts:
        raise HubLabelError(
            "No barcode found. Hold the phone 10-20 cm from the label, in good light, "
            "and keep the whole barcode in the picture."
        )
    for text, symbology in texts:
        hub_id = barcode_hub_id(text)
        if hub_id is not None:
            return HubLabel(hub_id, symbology)
    raise HubLabelError(
        "The barcode found does not hold a hub id (16 hex digits): "
        + ", ".join(text[:40] for text, _ in texts)
    )


@functools.cache
def _decoder() -> ThreadPoolExecutor:
    """The one thread photos are decoded on (made on first use, in the serving process)."""
    return ThreadPoolExecutor(max_workers=DECODES_AT_ONCE, thread_name_prefix="hub-label")


def _read_barcodes(data: bytes) -> list[tuple[str, str]]:
    """Every barcode's text and symbology; the decoded image is freed before returning."""
    import zxingcpp

    image = _decoded_grey(data)
    try:
        results = zxingcpp.read_barcodes(image)
        return [(r.text, str(r.format).split(".")[-1]) for r in results]
    finally:
        image.close()
        del image
        _return_freed_memory()


def _decoded_grey(data: bytes) -> Image.Image:
    """The photo in grey, at most :data:`DECODE_MAX_SIDE` a side; refused by its header
    when decoding it would take more than :data:`MAX_DECODED_PIXELS`."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise HubLabelError(NOT_A_PHOTO) from exc
    try:
        width, height = image.size
        if width * height > MAX_DECLARED_PIXELS:
            raise HubLabelError(TOO_LARGE)
        scale = DECODE_MAX_SIDE / max(width, height, 1)
        if scale < 1:  # JPEG: let the decoder scale down (a no-op for other formats)
            image.draft("L", (max(1, int(width * scale)), max(1, int(height * scale))))
        if image.width * image.height > MAX_DECODED_PIXELS:
            raise HubLabelError(TOO_LARGE)
        image.load()
        grey = image if image.mode == "L" else image.convert("L")
    except HubLabelError:
        image.close()
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        image.close()
        raise HubLabelError(NOT_A_PHOTO) from exc
    if grey is not image:
        image.close()
    if max(grey.size) > DECODE_MAX_SIDE:
        grey.thumbnail((DECODE_MAX_SIDE, DECODE_MAX_SIDE))
    return grey


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, where there is one."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


def _return_freed_memory() -> None:
    """Hand the decoded photo's freed pages back to the system.

    Pillow's image blocks come from malloc, and glibc keeps what is freed for reuse; this
    returns the free pages it can (all of the main arena's; another arena keeps up to its
    trim threshold, 32 MiB at most, which the next photo reuses).
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
