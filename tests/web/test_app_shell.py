"""The installable app: manifest, icons, service worker served from the root scope."""

from __future__ import annotations

import json
import re

from webapp.web.app_shell import SHELL_FILES
from webapp.web.assets import IMMUTABLE, UNVERSIONED, file_version

VERSIONED = r"\?v=[0-9a-f]{8}"


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
    assert [re.sub(VERSIONED, "", path) for path in shell] == [
        f"/static/{name}" for name in SHELL_FILES
    ]
    for path in shell:  # the versioned URLs the pages use: what they ask for is cached
        assert re.search(VERSIONED + "$", path), path
        response = client.get(path)
        assert response.status_code == 200, path
        expected = "no-store" if response.mimetype == "text/html" else IMMUTABLE  # pages never
        assert response.headers["Cache-Control"] == expected, path
    assert not any(p.startswith("/api/") or p.startswith("/i/") for p in shell)
    assert re.search(r'const CACHE = "hht-shell-[0-9a-f]{12}"', source)


def test_pages_link_the_manifest(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'rel="manifest" href="/manifest.webmanifest"' in page


def _static_links(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', page)


def test_pages_link_static_files_by_version_and_those_are_cached_for_good(client, installer):
    page = client.get("/i/").get_data(as_text=True)
    links = _static_links(page)
    assert {"css/hht.css", "js/common.js"} <= {re.sub(r"^/static/|\?.*$", "", u) for u in links}
    for url in links:
        assert re.search(VERSIONED + "$", url), url
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == IMMUTABLE, url


def test_a_static_file_without_its_current_version_is_kept_only_briefly(client):
    for url in ("/static/css/hht.css", "/static/css/hht.css?v=00000000"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == UNVERSIONED, url
    assert "immutable" not in UNVERSIONED


def test_a_file_changes_version_when_its_content_does(tmp_path):
    (tmp_path / "a.css").write_text("body { color: red; }")
    (tmp_path / "b.css").write_text("body { color: blue; }")
    first, second = file_version(str(tmp_path), "a.css"), file_version(str(tmp_path), "b.css")
    assert first and second and first != second
    assert file_version(str(tmp_path), "missing.css") is None
    assert file_version(str(tmp_path), "../a.css") is None  # nothing outside the folder
