"""Static files with versioned URLs: cached by the phone for a year, replaced when they change.

Every ``url_for('static', filename=...)`` carries ``?v=`` and the first hex digits of the
file's SHA-256 (read once per file and process: the files change only with the software).
A request whose version is the file's current one is answered as immutable for a year;
any other (no version, or an old one from a page loaded before an update) may be kept
only briefly, so a changed file reaches the phone at its next page load.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from werkzeug.security import safe_join

VERSION_ARG = "v"
VERSION_HEX_DIGITS = 8
#: The most files whose versions are kept (the static folder holds a few dozen).
VERSIONS_KEPT = 256
IMMUTABLE = "public, max-age=31536000, immutable"  # a year: HTTP's longest useful age
UNVERSIONED_MAX_AGE_SECONDS = 300
UNVERSIONED = f"public, max-age={UNVERSIONED_MAX_AGE_SECONDS}"
STATIC_ENDPOINT = "static"
CACHED_STATUSES = (200, 304)  # a file, or "not modified since" (its freshness renewed)


@lru_cache(maxsize=VERSIONS_KEPT)
def file_version(static_dir: str, filename: str) -> str | None:
    """The version of ``static_dir/filename``: the first hex digits of its SHA-256, or None
    when there is no such file inside the folder."""
    path = safe_join(static_dir, filename)
    if path is None or not Path(path).is_file():
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:VERSION_HEX_DIGITS]


def versioned_path(static_dir: str, filename: str) -> str:
    """``/static/<filename>?v=<version>``: the URL pages use, also outside a request."""
    version = file_version(static_dir, filename)
    suffix = f"?{VERSION_ARG}={version}" if version else ""
    return f"/static/{filename}{suffix}"


def _add_version(app: Flask, endpoint: str, values: dict[str, Any]) -> None:
    if endpoint != STATIC_ENDPOINT or "filename" not in values or VERSION_ARG in values:
        return
    version = file_version(str(app.static_folder), values["filename"])
    if version is not None:
        values[VERSION_ARG] = version


def _cache_headers(app: Flask, response: Response) -> Response:
    if request.endpoint != STATIC_ENDPOINT or response.status_code not in CACHED_STATUSES:
        return response
    filename = (request.view_args or {}).get("filename", "")
    current = file_version(str(app.static_folder), filename)
    asked = request.args.get(VERSION_ARG)
    response.headers["Cache-Control"] = IMMUTABLE if asked and asked == current else UNVERSIONED
    return response


def init_assets(app: Flask) -> None:
    """Version the app's static URLs and set their caching."""
    app.url_defaults(lambda endpoint, values: _add_version(app, endpoint, values))
    app.after_request(lambda response: _cache_headers(app, response))
