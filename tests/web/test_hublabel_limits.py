"""Hub-label photos cannot exhaust the Pi: too many pixels are refused from the header,
big JPEGs decode at reduced scale, one photo is decoded at a time, and the memory comes
back afterwards."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageFile

from tests.web.test_hublabel import FORMATS, HUB, label_photo
from webapp.web import hublabel
from webapp.web.hublabel import (
    BUSY,
    DECODE_MAX_SIDE,
    MAX_DECODED_PIXELS,
    TOO_LARGE,
    HubLabelBusy,
    HubLabelError,
    decode_photo,
)

PEAK_GROWTH_LIMIT_MIB = 150  # four 12 Mpx RGB PNGs at once: 60 MiB; 212 MiB before
HELD_GROWTH_LIMIT_MIB = 64  # what stays after them: 25 MiB; 100 MiB before
REFUSED_GROWTH_LIMIT_MIB = 16  # four 7000 x 7000 PNGs at once: 0.5 MiB; 922 MiB before


def _png(width: int, height: int, mode: str = "L") -> bytes:
    """A flat PNG: a few kilobytes on the wire, ``width * height`` pixels decoded."""
    out = io.BytesIO()
    Image.new(mode, (width, height), "#e6e6e6").save(out, "PNG")
    return out.getvalue()


def _big_label_jpeg(width: int, height: int) -> bytes:
    """A large photo with a QR label big enough to read after scaling down."""
    pixels = memoryview(zxingcpp.create_barcode(HUB, FORMATS[1]).to_image(scale=40))
    code = Image.frombytes("L", (pixels.shape[1], pixels.shape[0]), pixels.tobytes())
    sheet = Image.new("L", (width, height), 235)
    sheet.paste(code, (width // 3, height // 3))
    out = io.BytesIO()
    sheet.save(out, "JPEG", quality=85)
    return out.getvalue()


def _forbid_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, any pixel decoding fails the test."""

    def refuse(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    monkeypatch.setattr(Image.Image, "load", refuse)


def test_a_7000_square_png_is_refused_from_its_header(monkeypatch):
    photo = _png(7000, 7000)
    assert len(photo) < 200_000  # small on the wire: the danger is in decoding it
    _forbid_decoding(monkeypatch)
    tracemalloc.start()
    try:
        with pytest.raises(HubLabelError, match=TOO_LARGE):
            decode_photo(photo)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * len(photo) + 1_000_000


def test_a_png_over_the_pixel_cap_is_refused(monkeypatch):
    photo = _png(5000, 4000)  # 20 Mpx: a PNG cannot be decoded smaller
    _forbid_decoding(monkeypatch)
    with pytest.raises(HubLabelError, match=TOO_LARGE):
        decode_photo(photo)


def test_a_big_jpeg_is_decoded_at_reduced_scale(monkeypatch):
    seen: list[tuple[int, int]] = []
    real_load = ImageFile.ImageFile.load

    def load(image):  # type: ignore[no-untyped-def]
        seen.append(image.size)
        return real_load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    photo = _big_label_jpeg(6000, 4500)  # 27 Mpx declared, over the cap
    assert decode_photo(photo).hub_id == HUB
    assert seen and all(w * h <= MAX_DECODED_PIXELS for w, h in seen)
    assert max(seen[0]) < 6000 and max(seen[0]) >= DECODE_MAX_SIDE


def test_four_concurrent_photos_are_decoded_one_at_a_time(monkeypatch):
    active, most = [0], [0]
    lock = threading.Lock()
    real_read = zxingcpp.read_barcodes

    def read(image):  # type: ignore[no-untyped-def]
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.1)
        try:
            return real_read(image)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(zxingcpp, "read_barcodes", read)
    photo = label_photo(HUB, FORMATS[0])
    results: list[object] = []

    def upload() -> None:
        try:
            results.append(decode_photo(photo).hub_id)
        except HubLabelError as exc:
            results.append(exc)

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [HUB] * 4
    assert most[0] == 1


def test_a_photo_that_waits_too_long_is_told_to_try_again(monkeypatch):
    monkeypatch.setattr(hublabel, "DECODE_WAIT_S", 0.05)
    started = threading.Event()
    real_read = zxingcpp.read_barcodes

    def slow_read(image):  # type: ignore[no-untyped-def]
        started.set()
        time.sleep(0.5)
        return real_read(image)

    monkeypatch.setattr(zxingcpp, "read_barcodes", slow_read)
    photo = label_photo(HUB, FORMATS[0])
    first: list[object] = []
    thread = threading.Thread(target=lambda: first.append(decode_photo(photo).hub_id))
    thread.start()
    assert started.wait(5)
    with pytest.raises(HubLabelBusy, match=BUSY):
        decode_photo(photo)
    thread.join()
    assert first == [HUB]


def test_the_label_endpoint_says_busy_plainly(app, client, demo_jobs, monkeypatch):
    from tests.conftest import login

    def busy(_data: bytes) -> None:
        raise HubLabelBusy(BUSY)

    monkeypatch.setattr(hublabel, "decode_photo", busy)
    token = login(client, "installer")
    response = client.post(
        f"/api/jobs/{demo_jobs[0]['id']}/hub-label",
        data={"photo": (io.BytesIO(b"x"), "label.png")},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 422 and response.get_json()["error"] == BUSY


MEASURE = """
import json, sys, threading
import webapp.web.hublabel as hublabel, zxingcpp, PIL.PngImagePlugin  # noqa: F401

def status(key):
    with open("/proc/self/status") as lines:
        return next(int(l.split()[1]) for l in lines if l.startswith(key)) / 1024

data = open(sys.argv[1], "rb").read()
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")  # the peak (VmHWM) starts again from here; ru_maxrss survives exec
before = status("VmRSS:")

def upload():
    try:
        hublabel.decode_photo(data)
    except hublabel.HubLabelError:
        pass

threads = [threading.Thread(target=upload) for _ in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
peak, held = status("VmHWM:") - before, status("VmRSS:") - before
print(json.dumps({"peak_growth": peak, "held_growth": held}))
"""


def _memory_of_four_at_once(photo: Path) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, str(photo)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_four_big_photos_at_once_stay_within_a_pis_memory(tmp_path):
    allowed = tmp_path / "12mpx.png"
    allowed.write_bytes(_png(4032, 3024, "RGB"))
    refused = tmp_path / "49mpx.png"
    refused.write_bytes(_png(7000, 7000))
    decoded = _memory_of_four_at_once(allowed)
    assert decoded["peak_growth"] < PEAK_GROWTH_LIMIT_MIB, decoded
    assert decoded["held_growth"] < HELD_GROWTH_LIMIT_MIB, decoded
    bomb = _memory_of_four_at_once(refused)
    assert bomb["peak_growth"] < REFUSED_GROWTH_LIMIT_MIB, bomb
