"""Logging in (installers with a PIN, supervisors with a password) and out.

Registering this blueprint also makes the app's sessions server-side
(:mod:`webapp.web.sessions`): every page that logs in or out goes through here.
"""

from __future__ import annotations

import logging

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask.blueprints import BlueprintSetupState

from webapp.auth.users import INSTALLER, SUPERVISOR, LoginRefused
from webapp.auth.users import login as login_check
from webapp.web import sessions
from webapp.web.context import station
from webapp.web.security import current_user, login_user

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

HOME = {INSTALLER: "installer.jobs", SUPERVISOR: "supervisor.history"}
MAX_USERNAME_FIELD = 64
MAX_SECRET_FIELD = 256


@bp.record_once
def _server_side_sessions(state: BlueprintSetupState) -> None:
    sessions.install(state.app)


def _safe_next(target: str | None, role: str) -> str:
    prefix = "/i/" if role == INSTALLER else "/s/"
    if target and target.startswith(prefix) and not target.startswith("//"):
        return target
    return url_for(HOME[role])


@bp.route("/")
def index():  # type: ignore[no-untyped-def]
    user = current_user()
    if user is None:
        return redirect(url_for("auth.login"))
    return redirect(url_for(HOME[user.role]))


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    role = request.values.get("role", INSTALLER)
    if role not in HOME:
        role = INSTALLER
    error = None
    if request.method == "POST":
        username = request.form.get("username", "")[:MAX_USERNAME_FIELD]
        secret = request.form.get("secret", "")[:MAX_SECRET_FIELD]
        try:
            user = login_check(station().store, username, secret, role, request.remote_addr or "?")
        except LoginRefused as exc:
            error = exc.message
        else:
            login_user(user)  # a new session: the token from before login is dropped
            log.info("%s %r logged in from %s", user.role, user.username, request.remote_addr)
            return redirect(_safe_next(request.args.get("next"), user.role))
    return render_template("auth/login.html", role=role, error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():  # type: ignore[no-untyped-def]
    role = session.get("role", INSTALLER)
    sessions.end_current("logout")
    return redirect(url_for("auth.login", role=role))
