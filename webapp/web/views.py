"""Template filters shared by every page."""

from __future__ import annotations

import re
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


def local_time(iso: str | None) -> str:
    """A moment as people read it, in the terminal's local time: "5 Dec 2026, 15:28:45"
    (no ISO 'T', no fractions of a second). A time without a zone is shown as it is; a date
    alone as a date ("5 Dec 2026")."""
    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if len(iso) == len("2026-12-05"):
        return f"{moment.day} {moment:%b %Y}"
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return f"{moment.day} {moment:%b %Y, %H:%M:%S}"


def after_site(address: str | None, site: str | None) -> str:
    """The address without the site it starts with ("Leeds LS6 2AB" of "14 Acacia Avenue,
    Leeds LS6 2AB"), so a page that shows the site does not say it twice."""
    address, site = (address or "").strip(), (site or "").strip()
    rest = address[len(site) :]
    if site and address.lower().startswith(site.lower()) and rest[:1] in ("", ",", " "):
        return rest.lstrip(" ,")
    return address


def site_address(site: str | None, address: str | None) -> str:
    """Site and address on one line, the site said once."""
    rest = after_site(address, site)
    return ", ".join(part for part in ((site or "").strip(), rest) if part)


#: A device id inside free text: 16 hex digits, at least one a letter (so that a 16-digit
#: counter is not taken for one).
_DEVICE_ID_IN_TEXT = re.compile(r"\b(?=[0-9]{0,15}[A-Fa-f])[0-9A-Fa-f]{16}\b")


def ids_as_labels(text: str | None) -> Markup:
    """Free text (a job event's message) with each device id in it written as on the label,
    breaking only between byte pairs (see :func:`eui_html`)."""
    escaped = str(escape(text or ""))
    return Markup(_DEVICE_ID_IN_TEXT.sub(lambda found: str(eui_html(found.group(0))), escaped))


def register_filters(app: Flask) -> None:
    app.jinja_env.filters["short_time"] = short_time
    app.jinja_env.filters["date_time"] = date_time
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["after_site"] = after_site
    app.jinja_env.filters["site_address"] = site_address
    app.jinja_env.filters["ids_as_labels"] = ids_as_labels
    app.jinja_env.filters["eui"] = eui_html
    app.jinja_env.filters["eui_text"] = eui
    app.jinja_env.filters["fromjson"] = from_json
    app.jinja_env.filters["device_name"] = device_name
