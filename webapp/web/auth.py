"""Logging in (installers with a PIN, supervisors with a password) and out."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for

from webapp.auth.users import INSTALLER, SUPERVISOR, LoginRefused
from webapp.auth.users import login as login_check
from webapp.web.context import station
from webapp.web.security import current_user, login_user

bp = Blueprint("auth", __name__)

HOME = {INSTALLER: "installer.jobs", SUPERVISOR: "supervisor.history"}


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
        username = request.form.get("username", "")[:64]
        secret = request.form.get("secret", "")[:256]
        try:
            user = login_check(station().store, username, secret, role, request.remote_addr or "?")
        except LoginRefused as exc:
            error = exc.message
        else:
            login_user(user)
            return redirect(_safe_next(request.args.get("next"), user.role))
    return render_template("auth/login.html", role=role, error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():  # type: ignore[no-untyped-def]
    role = session.get("role", INSTALLER)
    session.clear()
    return redirect(url_for("auth.login", role=role))
