"""The Flask application: app factory, blueprints, Socket.IO and the radio loop.

The app does not open the terminal: the composition (``webapp.station.open_app``, or a
test) opens the station on a ``LoopThread`` and hands both to ``create_app``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask
from flask_socketio import SocketIO

from webapp import config
from webapp.web.bridge import LoopThread

if TYPE_CHECKING:
    from webapp.station import Station

log = logging.getLogger(__name__)

SESSION_LIFETIME = timedelta(hours=12)
SHUTDOWN_TIMEOUT_SECONDS = 10.0
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
PACKAGE_DIR = Path(__file__).resolve().parent.parent


def asset_dir(name: str) -> Path:
    """``templates``/``static`` inside an installed wheel, else at the repo top level."""
    installed = PACKAGE_DIR / name
    if installed.is_dir():
        return installed
    return PACKAGE_DIR.parent / name


class JobChannel:
    """The runner's job updates to the browsers watching each job (a runner Publisher).

    The station is opened with the channel before the app exists; ``create_app``
    attaches the app's Socket.IO, and updates published before that are dropped.
    """

    def __init__(self) -> None:
        self._socketio: SocketIO | None = None

    def attach(self, socketio: SocketIO) -> None:
        self._socketio = socketio

    def __call__(self, job_id: str, message: dict[str, Any]) -> None:
        if self._socketio is not None:
            self._socketio.emit("job", message, to=f"job-{job_id}")


@dataclass
class HhtContext:
    loop: LoopThread
    station: Station
    socketio: SocketIO
    radio: str  # the kind of radio in use: "sim", "ezsp" or "deconz"
    time_scale: float


def create_app(
    *,
    station: Station,
    loop: LoopThread,
    channel: JobChannel,
    secure_cookies: bool = False,
    test_config: dict[str, Any] | None = None,
) -> Flask:
    """The app over an open ``station`` whose radio and runner live on ``loop``.

    ``channel`` is the publisher the station's runner was opened with: it carries job
    updates to this app's Socket.IO rooms.  ``shutdown`` closes the station and the loop.
    """
    data_dir = station.data_dir
    radio = station.driver.info.kind
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
        MAX_CONTENT_LENGTH=MAX_UPLOAD_BYTES,
        DATA_DIR=str(data_dir),
        HHT_RADIO=radio,
        HHT_RADIO_NOTICE=station.radio_notice,
    )
    if test_config:
        app.config.update(test_config)

    socketio = SocketIO(app, async_mode="threading", cors_allowed_origins=None)
    channel.attach(socketio)
    app.extensions["hht"] = HhtContext(loop, station, socketio, radio, station.time_scale)

    from webapp.web import (
        api,
        app_shell,
        auth,
        hosts,
        installer,
        messages,
        sockets,
        supervisor,
        workpacks,
    )
    from webapp.web.assets import init_assets
    from webapp.web.security import init_security
    from webapp.web.views import register_filters

    init_security(app)
    init_assets(app)
    register_filters(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(installer.bp)
    app.register_blueprint(supervisor.bp)
    app.register_blueprint(workpacks.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(messages.bp)
    app.register_blueprint(app_shell.bp)
    sockets.register(socketio)
    hosts.guard(app)  # outermost: a Host that is not this terminal gets a 400, sockets too

    @app.teardown_appcontext
    def _forget_db(exc: BaseException | None) -> None:  # noqa: ARG001
        from flask import g

        g.pop("db", None)

    return app


def shutdown(app: Flask) -> None:
    """Close the app's station and stop its loop thread."""
    ctx: HhtContext = app.extensions["hht"]
    try:
        ctx.loop.call(ctx.station.close(), timeout=SHUTDOWN_TIMEOUT_SECONDS)
    finally:
        ctx.loop.stop()
