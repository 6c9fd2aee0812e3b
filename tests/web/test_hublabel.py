"""Hub label photos: several symbologies, rotated, blurred, noisy; wrong hubs flagged."""

from __future__ import annotations

import io
import random

import pytest
import zxingcpp
from PIL import Image, ImageFilter

from tests.conftest import login
from webapp.web.hublabel import HubLabelError, barcode_hub_id, decode_photo, typed_hub_id

HUB = "00DB9362C13DA58B"


def label_photo(text: str, fmt, *, angle: float = 0, blur: float = 0, noise: int = 0) -> bytes:
    """A photo-like JPEG of a printed label: margins, rotation, blur, sensor noise."""
    pixels = memoryview(zxingcpp.create_barcode(text, fmt).to_image(scale=4))
    code = Image.frombytes("L", (pixels.shape[1], pixels.shape[0]), pixels.tobytes())
    sheet = Image.new("L", (code.width + 200, code.height + 200), 235)
    sheet.paste(code, (100, 100))
    if angle:
        sheet = sheet.rotate(angle, expand=True, fillcolor=235)
    if blur:
        sheet = sheet.filter(ImageFilter.GaussianBlur(blur))
    if noise:
        rng = random.Random(1)
        grain = bytes(
            max(0, min(255, value + rng.randint(-noise, noise))) for value in sheet.tobytes()
        )
        sheet = Image.frombytes("L", sheet.size, grain)
    out = io.BytesIO()
    sheet.convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


FORMATS = [
    zxingcpp.BarcodeFormat.Code128,
    zxingcpp.BarcodeFormat.QRCode,
    zxingcpp.BarcodeFormat.DataMatrix,
]


DISTORTIONS = {
    "clean": {},
    "rot90": {"angle": 90},
    "rot11": {"angle": 11},
    "blur": {"blur": 1.2},
    "noise": {"noise": 40},
    "rot180-blur": {"angle": 180, "blur": 0.8},
}
# a 1-D barcode photographed 11 degrees off is not expected to read: 2-D codes only there
CASES = [
    (fmt, name)
    for fmt in FORMATS
    for name in DISTORTIONS
    if not (fmt == zxingcpp.BarcodeFormat.Code128 and name == "rot11")
]


@pytest.mark.parametrize(("fmt", "name"), CASES, ids=lambda v: str(v).split(".")[-1])
def test_photos_decode_to_the_hub_id(fmt, name):
    distortion = DISTORTIONS[name]
    label = decode_photo(label_photo(HUB, fmt, **distortion))
    assert label.hub_id == HUB


def test_label_text_with_separators_and_prefix():
    assert barcode_hub_id("00-DB-93-62-C1-3D-A5-8B") == HUB
    assert barcode_hub_id("GPF:00db9362c13da58b") == HUB
    assert decode_photo(label_photo("EUI 00:DB:93:62:C1:3D:A5:8B", FORMATS[1])).hub_id == HUB


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"not an image at all", "not a photo"),
        (label_photo("HELLO WORLD", FORMATS[0]), "does not hold a hub id"),
    ],
)
def test_bad_photos_say_what_to_do(data, message):
    with pytest.raises(HubLabelError, match=message):
        decode_photo(data)


def test_a_photo_without_a_barcode():
    blank = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 200, 200)).save(blank, "PNG")
    with pytest.raises(HubLabelError, match="No barcode found"):
        decode_photo(blank.getvalue())


def test_typed_ids_are_checked():
    assert typed_hub_id(" 00db 9362 c13d a58b ").hub_id == HUB
    for bad in ("", "00DB9362C13DA58", "00DB9362C13DA58BZ", "x" * 100):
        with pytest.raises(HubLabelError, match="16 characters"):
            typed_hub_id(bad)


def test_the_label_endpoint_flags_a_wrong_hub(app, client, demo_jobs):
    token = login(client, "installer")
    job = demo_jobs[0]
    right = label_photo(job["expected_hub_id"], FORMATS[0])
    response = client.post(
        f"/api/jobs/{job['id']}/hub-label",
        data={"photo": (io.BytesIO(right), "label.jpg")},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 200
    assert response.get_json()["matches_job"] is True
    wrong = demo_jobs[1]["expected_hub_id"]
    response = client.post(
        f"/api/jobs/{job['id']}/hub-label",
        json={"text": dashed(wrong)},
        headers={"X-CSRF-Token": token},
    )
    data = response.get_json()
    assert data["matches_job"] is False
    # both ids as printed on labels, in pairs, like everywhere else on the pages
    assert dashed(wrong) in data["message"] and dashed(job["expected_hub_id"]) in data["message"]
    junk = client.post(
        f"/api/jobs/{job['id']}/hub-label",
        data={"photo": (io.BytesIO(random.randbytes(500)), "x.jpg")},
        headers={"X-CSRF-Token": token},
    )
    assert junk.status_code == 422 and "not a photo" in junk.get_json()["error"]


def dashed(hex16: str) -> str:
    return "-".join(hex16[i : i + 2] for i in range(0, 16, 2))
