"""The Flask application: app factory, blueprints, Socket.IO and the radio loop."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask_socketio import SocketIO

from webapp import config
from webapp.station import Station
from webapp.web.bridge import LoopThread

log = logging.getLogger(__name__)

SESSION_LIFETIME = timedelta(hours=12)
PACKAGE_DIR = Path(__file__).resolve().parent.parent


def asset_dir(name: str) -> Path:
    """``templates``/``static`` inside an installed wheel, else at the repo top level."""
    installed = PACKAGE_DIR / name
    if installed.is_dir():
        return installed
    return PACKAGE_DIR.parent / name


@dataclass
class HhtContext:
    loop: LoopThread
    station: Station
    socketio: SocketIO
    radio: str
    time_scale: float


def create_app(
    data_dir: Path | str | None = None,
    *,
    radio: str = "sim",
    time_scale: float = 1.0,
    secure_cookies: bool = False,
    test_config: dict[str, Any] | None = None,
) -> Flask:
    data_dir = config.resolve_data_dir(data_dir)
    app = Flask(
        __name__,
        template_folder=str(asset_dir("templates")),
        static_folder=str(asset_dir("static")),
        static_url_path="/static",
    )
    app.config.update(
        SECRET_KEY=config.secret_key(data_dir),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=secure_cookies,
        SESSION_COOKIE_NAME="hht_session",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
        DATA_DIR=str(data_dir),
        HHT_RADIO=radio,
    )
    if test_config:
        app.config.update(test_config)

    socketio = SocketIO(app, async_mode="threading", cors_allowed_origins=None)
    loop = LoopThread().start()

    def publish(job_id: str, message: dict[str, Any]) -> None:
        socketio.emit("job", message, to=f"job-{job_id}")

    station = loop.call(Station.open(data_dir, radio=radio, time_scale=time_scale, publish=publish))
    app.extensions["hht"] = HhtContext(loop, station, socketio, radio, time_scale)
    app.config.update(HHT_RADIO=station.driver.info.kind, HHT_RADIO_NOTICE=station.radio_notice)

    from webapp.web import (
        api,
        app_shell,
        auth,
        installer,
        messages,
        sockets,
        supervisor,
        workpacks,
    )
    from webapp.web.security import init_security
    from webapp.web.views import register_filters

    init_security(app)
    register_filters(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(installer.bp)
    app.register_blueprint(supervisor.bp)
    app.register_blueprint(workpacks.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(messages.bp)
    app.register_blueprint(app_shell.bp)
    sockets.register(socketio)

    @app.teardown_appcontext
    def _forget_db(exc: BaseException | None) -> None:  # noqa: ARG001
        from flask import g

        g.pop("db", None)

    return app


def shutdown(app: Flask) -> None:
    ctx: HhtContext = app.extensions["hht"]
    try:
        ctx.loop.call(ctx.station.close(), timeout=10)
    finally:
        ctx.loop.stop()
