"""The installable app: web manifest and the service worker (served from the root scope)."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, current_app, send_from_directory

from webapp.web.assets import versioned_path

bp = Blueprint("app_shell", __name__)

#: What the service worker keeps on the phone (paths under static/).
SHELL_FILES = (
    "css/hht.css",
    "js/common.js",
    "js/hub.js",
    "js/run.js",
    "js/message.js",
    "vendor/socket.io.min.js",
    "icons/icon-192.png",
    "icons/icon-512.png",
    "offline.html",
)


@cache
def service_worker_source(static_dir: str) -> str:
    """sw.js with its shell list (the versioned URLs the pages use) and a cache name that
    changes whenever a shell file does."""
    root = Path(static_dir)
    digest = hashlib.sha256()
    for name in SHELL_FILES:
        digest.update(name.encode())
        digest.update((root / name).read_bytes())
    source = (root / "js" / "sw.js").read_text()
    shell = json.dumps([versioned_path(static_dir, name) for name in SHELL_FILES])
    return source.replace("__VERSION__", digest.hexdigest()[:12]).replace("__SHELL__", shell)


@bp.route("/sw.js")
def service_worker() -> Response:
    response = Response(
        service_worker_source(current_app.static_folder), mimetype="text/javascript"
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/manifest.webmanifest")
def manifest() -> Response:
    response = send_from_directory(current_app.static_folder, "manifest.webmanifest")
    response.mimetype = "application/manifest+json"
    return response
