"""On HTTPS with the fleet's CA trusted, the page is a secure context (camera, wake lock)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import expect

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, running_server
from webapp.sim.demo import DEMO_INSTALLER
from webapp.web.tls import init_tls

pytestmark = pytest.mark.browser


def spki_hash(cert_pem: bytes) -> str:
    """What Chromium's --ignore-certificate-errors-spki-list wants: it keeps the origin secure,
    as a phone does once the fleet's CA is installed."""
    public = x509.load_pem_x509_certificate(cert_pem).public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def test_https_page_is_a_secure_context(demo_dir, demo_jobs, shots):
    from playwright.sync_api import sync_playwright

    files = init_tls(demo_dir, ["localhost"], ["127.0.0.1"])
    pin = spki_hash(files.server_cert.read_bytes())
    with running_server(demo_dir, "https") as url, sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={pin}"],
        )
        context = chromium.new_context(viewport=PHONE, is_mobile=True)
        page = context.new_page()
        page.goto(f"{url}/login?role=installer")
        assert page.evaluate("window.isSecureContext") is True
        assert page.evaluate("location.protocol") == "https:"
        page.fill("#username", DEMO_INSTALLER[0])
        page.fill("#secret", DEMO_INSTALLER[2])
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_contain_text("Today's jobs")  # the Secure cookie works
        page.goto(f"{url}/i/jobs/{demo_jobs[0]['id']}/run")
        expect(page.locator("#insecure-note")).to_be_hidden()
        assert page.evaluate("'wakeLock' in navigator") is True
        shots(page, "https-run-page")

        # the installable app: the service worker keeps the shell, never the job data
        assert page.evaluate("navigator.serviceWorker.ready.then(() => true)") is True
        page.reload()
        assert page.evaluate("navigator.serviceWorker.controller !== null") is True
        context.set_offline(True)
        page.wait_for_function("!navigator.onLine")  # the emulation has reached the page
        page.goto(f"{url}/i/")
        expect(page.locator("#offline-title")).to_have_text("The terminal is out of reach")
        shots(page, "offline")
        stale = page.evaluate(
            "fetch('/api/jobs/" + demo_jobs[0]["id"] + "').then(() => 'served', () => 'refused')"
        )
        assert stale == "refused"
        context.set_offline(False)
        page.goto(f"{url}/i/")
        expect(page.locator("h1")).to_contain_text("Today's jobs")
        chromium.close()
