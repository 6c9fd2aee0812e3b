"""The installable app: manifest, icons, service worker served from the root scope."""

from __future__ import annotations

import json
import re

from webapp.web.app_shell import SHELL_FILES


def test_manifest_names_the_app_and_its_icons(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.get_data())
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).status_code == 200
    assert {i["sizes"] for i in manifest["icons"]} >= {"192x192", "512x512"}


def test_service_worker_caches_the_shell_and_never_job_data(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    source = response.get_data(as_text=True)
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", source).group(1))
    assert shell == [f"/static/{name}" for name in SHELL_FILES]
    for path in shell:
        assert client.get(path).status_code == 200, path
    assert not any(p.startswith("/api/") or p.startswith("/i/") for p in shell)
    assert re.search(r'const CACHE = "hht-shell-[0-9a-f]{12}"', source)


def test_pages_link_the_manifest(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'rel="manifest" href="/manifest.webmanifest"' in page
