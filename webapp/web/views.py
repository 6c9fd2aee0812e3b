"""Template filters shared by every page."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from markupsafe import Markup, escape

from webapp.jobs.states import device_name


def short_time(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).strftime("%H:%M:%S")
    except ValueError:
        return iso


def date_time(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso


def from_json(text: str | None) -> object:
    import json

    try:
        return json.loads(text or "null") or {}
    except ValueError:
        return {}


def eui(value: str | None) -> str:
    """16 hex digits grouped in pairs, as printed on hub and meter labels (plain text, for
    attributes and form values)."""
    if not value:
        return ""
    value = value.upper()
    return "-".join(value[i : i + 2] for i in range(0, len(value), 2))


def eui_html(value: str | None) -> Markup:
    """A device id for a page: the label's format, and a line may break only between byte
    pairs (never inside one), so what is on screen reads like the printed label."""
    text = eui(value)
    if not text:
        return Markup("")
    pairs = [escape(pair) for pair in text.split("-")]
    return Markup('<span class="eui">{}</span>').format(Markup("-<wbr>").join(pairs))


def register_filters(app: Flask) -> None:
    app.jinja_env.filters["short_time"] = short_time
    app.jinja_env.filters["date_time"] = date_time
    app.jinja_env.filters["eui"] = eui_html
    app.jinja_env.filters["eui_text"] = eui
    app.jinja_env.filters["fromjson"] = from_json
    app.jinja_env.filters["device_name"] = device_name
