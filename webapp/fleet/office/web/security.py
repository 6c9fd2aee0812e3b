"""The fleet's pages: the HHT's CSRF check, CSP and headers, with the fleet's users."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Flask, abort, current_app, g, redirect, request, session, url_for

from webapp.auth.sessions import ROLE_KEY, USER_KEY
from webapp.fleet.office import users
from webapp.web.security import csrf_token, init_security


class FleetUser:
    def __init__(self, row: dict[str, Any]) -> None:
        self.id = int(row["id"])
        self.username = str(row["username"])
        self.display_name = str(row["display_name"] or row["username"])
        self.role = str(row["role"])


def current_user() -> FleetUser | None:
    if "fleet_user" not in g:
        user = None
        user_id = session.get(USER_KEY)
        if user_id is not None:
            with current_app.extensions["fleet"].pool.connection() as conn:
                row = users.get(conn, int(user_id))
            if row and not row["disabled"] and row["role"] == session.get(ROLE_KEY):
                user = FleetUser(row)
        g.fleet_user = user
    return g.fleet_user


def login_user(user: dict[str, Any]) -> None:
    session.clear()
    session[USER_KEY] = int(user["id"])
    session[ROLE_KEY] = user["role"]
    session.permanent = True
    csrf_token()


def supervisor_required(view: Callable) -> Callable:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None:
            return redirect(url_for("auth.login", next=request.path))
        if user.role not in users.ROLES:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def init_fleet_security(app: Flask, *, exempt_prefix: str) -> None:
    """The HHT's CSRF check and headers; requests under ``exempt_prefix`` (the HHTs' signed
    API, which carries no cookie) skip the CSRF check."""
    init_security(app)
    check = app.before_request_funcs[None].pop()

    def csrf_unless_api() -> None:
        if not request.path.startswith(exempt_prefix):
            check()

    app.before_request(csrf_unless_api)
    app.jinja_env.globals["current_user"] = current_user
