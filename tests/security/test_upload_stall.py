"""An installer's upload holds nobody up, and an unreadable one is a 400 (issue 15, items
2 and 9).

The issue's upload (unsigned, 687 KB, one 0.99 MB DUIS file named 25,000 times) held the
store's writer for 53 s: a correct login waited 53 s and the gas-meter button 52 s.  Here
the same kind of upload is stopped in the middle of its verification (its manifest parser
waits on an event) while a supervisor logs in and the installer presses the gas meter's
button: both must be answered before the upload is let go.  Figures are printed, never
asserted; ``make bench`` measures the stall without stand-ins.
"""

from __future__ import annotations

import base64
import io
import json
import os
import threading
import time
import zipfile
from typing import Any

import pytest

from tests.conftest import csrf_of, login
from webapp.duis import build_local_command
from webapp.sim.demo import DEMO_SUPPLIER_EUI
from webapp.web.context import station
from webapp.workpack import load
from webapp.workpack.manifest import (
    FORMAT,
    MANIFEST_NAME,
    MAX_COMMAND_MENTIONS,
    MAX_JSON_DEPTH,
    SIGNATURE_NAME,
)
from webapp.workpack.trust import sha256_hex

#: A guard against a hung test, never a timing assertion: every wait ends on an event.
WAIT_LIMIT_SECONDS = 30.0
HOSTILE_MENTIONS = 25_000
DUIS_PAYLOAD_BYTES = 96 * 1024  # random: it does not compress
DEEP = 100_000
DUIS_NAME = "duis/a.xml"
REQUEST_ID = "90-B3-D5-1F-30-DE-00-01:00-DB-00-00-00-00-00-01:1"


def _stored_zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def hostile_pack(mentions: int = HOSTILE_MENTIONS) -> bytes:
    """The issue's pack: unsigned, its manifest naming one large DUIS file ``mentions`` times."""
    duis = build_local_command(
        REQUEST_ID, "8.1.1", "8.1.1", os.urandom(DUIS_PAYLOAD_BYTES), "2026-01-01T00:00:00Z"
    )
    manifest = {
        "format": FORMAT,
        "pack_id": "HOSTILE",
        "supplier": {"eui": DEMO_SUPPLIER_EUI, "name": "x"},
        "files": {DUIS_NAME: sha256_hex(duis)},
        "jobs": [
            {
                "id": "HOSTILE1",
                "site": "s",
                "address": "a",
                "mpxn": "1",
                "appointment": "2026-01-01",
                "service_requests": [
                    {"service_reference": "8.1.1", "use_case": "CS01", "command_variant": 3}
                ],
                "device_sets": [
                    {"devices": {"hub": "00DB000000000001"}, "commands": [[DUIS_NAME] * mentions]}
                ],
            }
        ],
    }
    signature = base64.b64encode(b"not a signature") + b"\n"
    return _stored_zip(
        {MANIFEST_NAME: json.dumps(manifest).encode(), SIGNATURE_NAME: signature, DUIS_NAME: duis}
    )


def deep_pack() -> bytes:
    nested = "[" * DEEP + "]" * DEEP
    manifest = f'{{"format": "{FORMAT}", "jobs": {nested}}}'.encode()
    return _stored_zip({MANIFEST_NAME: manifest, SIGNATURE_NAME: b"AAAA\n"})


def _upload(client, path: str, data: bytes, token: str) -> Any:  # type: ignore[no-untyped-def]
    return client.post(
        path,
        data={"csrf_token": token, "pack": (io.BytesIO(data), "pack.zip")},
        content_type="multipart/form-data",
    )


class StuckManifest:
    """Every pack's manifest parse waits until let go; records whether the writer was held."""

    def __init__(self, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reading = threading.Event()
        self.gate = threading.Event()
        self.under_writer: list[bool] = []
        store = app.extensions["hht"].station.store
        real = load.parse_manifest

        def stuck(data: bytes) -> Any:
            self.under_writer.append(store.write_locked)
            self.reading.set()
            if not self.gate.wait(WAIT_LIMIT_SECONDS):
                raise TimeoutError("the upload was never let go")
            return real(data)

        monkeypatch.setattr(load, "parse_manifest", stuck)


def test_a_login_and_the_gas_button_are_answered_while_an_upload_is_verified(
    app, demo_jobs, monkeypatch
) -> None:
    gas_job = next(j for j in demo_jobs if j["site"].startswith("21"))
    stuck = StuckManifest(app, monkeypatch)
    uploader = app.test_client()
    token = login(uploader, "installer")
    answers: list[Any] = []
    upload = threading.Thread(
        target=lambda: answers.append(_upload(uploader, "/i/workpack", hostile_pack(), token)),
        daemon=True,
    )
    upload.start()
    assert stuck.reading.wait(WAIT_LIMIT_SECONDS), "the upload never reached its manifest"

    started = time.monotonic()
    login(app.test_client(), "supervisor")  # asserts the login went through
    login_s = time.monotonic() - started

    installer = app.test_client()
    login(installer, "installer")
    started = time.monotonic()
    pressed = installer.post(
        f"/api/jobs/{gas_job['id']}/sim/wake-gsme", headers={"X-CSRF-Token": csrf_of(installer)}
    )
    button_s = time.monotonic() - started
    still_verifying = upload.is_alive()

    stuck.gate.set()
    upload.join(WAIT_LIMIT_SECONDS)
    print(f"\nwhile an upload was being verified: login {login_s:.3f} s, button {button_s:.3f} s")
    assert still_verifying, "the login and the button must be answered before the upload ends"
    assert pressed.status_code == 200, pressed.get_data(as_text=True)[:300]
    assert stuck.under_writer == [False], "the manifest was read with the writer held"
    refused = answers[0]
    assert refused.status_code == 400
    body = refused.get_data(as_text=True)
    assert f"{HOSTILE_MENTIONS} command files named; the limit is {MAX_COMMAND_MENTIONS}" in body


@pytest.mark.parametrize(
    ("role", "path"), [("installer", "/i/workpack"), ("supervisor", "/s/workpacks")]
)
def test_a_manifest_nested_too_deep_is_a_400_naming_the_cap(app, client, role, path) -> None:
    token = login(client, role)
    with app.app_context():
        before = station().store.reader().execute("SELECT count(*) FROM work_packs").fetchone()
    response = _upload(client, path, deep_pack(), token)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert f"nests deeper than {MAX_JSON_DEPTH} levels" in body
    with app.app_context():
        after = station().store.reader().execute("SELECT count(*) FROM work_packs").fetchone()
    assert after == before


def test_a_corrupt_deflate_stream_is_a_400(client) -> None:
    token = login(client, "supervisor")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST_NAME, os.urandom(4096).hex())
    data = bytearray(out.getvalue())
    start = len(b"PK\x03\x04") + 26 + len(MANIFEST_NAME)
    for i in range(start + 2, start + 40):  # the deflate stream, mangled
        data[i] ^= 0x5A
    response = _upload(client, "/s/workpacks", bytes(data), token)
    assert response.status_code == 400
    assert "cannot be read" in response.get_data(as_text=True)
