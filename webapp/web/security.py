"""Sessions, roles, CSRF and the security headers every response carries."""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Callable
from typing import Any

from flask import Flask, abort, g, jsonify, make_response, redirect, request, session, url_for

from webapp.auth.users import User, get_user

CSRF_SESSION_KEY = "csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def csrf_token() -> str:
    token = session.get(CSRF_SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_SESSION_KEY] = token
    return token


def _check_csrf() -> None:
    if request.method not in UNSAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD, "")
    expected = session.get(CSRF_SESSION_KEY, "")
    if not expected or not sent or not hmac.compare_digest(sent, expected):
        if request.path.startswith("/api/"):
            abort(
                make_response(
                    jsonify(error="The page is out of date (missing security token). Reload it."),
                    400,
                )
            )
        abort(400, "The form is out of date (missing security token). Go back and reload the page.")


def current_user() -> User | None:
    if "user" not in g:
        user_id = session.get("user_id")
        user = None
        if user_id is not None:
            from webapp.web.context import get_db

            user = get_user(get_db(), user_id)
            if user is not None and (user.disabled or user.role != session.get("role")):
                user = None
        g.user = user
    return g.user


def login_user(user: User) -> None:
    session.clear()
    session["user_id"] = user.id
    session["role"] = user.role
    session.permanent = True
    csrf_token()


def role_required(*roles: str) -> Callable:
    """Pages and API calls for these roles only; others get 401/403."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            api = request.path.startswith("/api/")
            if user is None:
                if api:
                    abort(make_response(jsonify(error="Log in first."), 401))
                return redirect(url_for("auth.login", next=request.path))
            if user.role not in roles:
                if api:
                    abort(make_response(jsonify(error="Your role cannot do this."), 403))
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def init_security(app: Flask) -> None:
    app.before_request(_check_csrf)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["current_user"] = current_user

    @app.after_request
    def security_headers(response):  # type: ignore[no-untyped-def]
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if request.path.startswith("/api/") or response.mimetype == "text/html":
            response.headers["Cache-Control"] = "no-store"
        return response
