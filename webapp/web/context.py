"""Reaching the station and the database from a request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app, g
from sqlite_utils import Database

if TYPE_CHECKING:
    from webapp.station import Station
    from webapp.web.app import HhtContext
    from webapp.web.bridge import LoopThread


def hht() -> HhtContext:
    """The app's context: the station, its loop, Socket.IO and the radio kind."""
    return current_app.extensions["hht"]


def station() -> Station:
    return hht().station


def loop() -> LoopThread:
    return hht().loop


def get_db() -> Database:
    """The calling thread's read connection."""
    if "db" not in g:
        g.db = station().store.reader()
    return g.db
