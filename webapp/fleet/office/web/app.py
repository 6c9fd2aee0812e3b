"""The fleet office's Flask app over a psycopg pool."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader
from psycopg_pool import ConnectionPool

from webapp.fleet import protocol
from webapp.identity import SigningIdentity
from webapp.web.app import asset_dir
from webapp.web.views import register_filters

log = logging.getLogger(__name__)

SESSION_LIFETIME = timedelta(hours=12)
FLEET_TEMPLATES = "fleet"
#: The fleet's own page frame; every other template (the message view) is the HHT's.
SHELL = "shell"


@dataclass
class FleetContext:
    pool: ConnectionPool
    signer: SigningIdentity


def create_fleet_app(
    pool: ConnectionPool,
    signer: SigningIdentity,
    *,
    secret_key: bytes | None = None,
    secure_cookies: bool = False,
    test_config: dict[str, Any] | None = None,
) -> Flask:
    templates = asset_dir("templates")
    app = Flask(__name__, static_folder=str(asset_dir("static")), static_url_path="/static")
    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(templates / FLEET_TEMPLATES / SHELL)),
            FileSystemLoader(str(templates)),
        ]
    )
    app.config.update(
        SECRET_KEY=secret_key or secrets.token_bytes(32),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=secure_cookies,
        SESSION_COOKIE_NAME="hht_fleet_session",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        MAX_CONTENT_LENGTH=protocol.MAX_PACK_BYTES,
    )
    if test_config:
        app.config.update(test_config)
    app.extensions["fleet"] = FleetContext(pool, signer)

    from webapp.fleet.office.web import api, auth, pages
    from webapp.fleet.office.web.security import init_fleet_security
    from webapp.fleet.office.web.sessions import FleetSessionInterface

    app.session_interface = FleetSessionInterface()
    init_fleet_security(app, exempt_prefix=protocol.API)
    register_filters(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(pages.messages)
    return app
