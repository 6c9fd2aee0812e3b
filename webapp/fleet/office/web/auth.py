"""Logging in and out of the fleet's pages."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for

from webapp.auth.users import UserError
from webapp.fleet.office import users
from webapp.fleet.office.web.security import login_user

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("supervisor.history")


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    error = None
    if request.method == "POST":
        try:
            with current_app.extensions["fleet"].pool.connection() as conn:
                user = users.login(
                    conn,
                    request.form.get("username", ""),
                    request.form.get("secret", ""),
                    request.remote_addr or "?",
                )
        except UserError as exc:
            error = str(exc)
        else:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("fleet/login.html", error=error), 401 if error else 200


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    session.clear()
    return redirect(url_for("auth.login"))
