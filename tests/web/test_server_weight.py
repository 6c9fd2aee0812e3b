"""An idle server holds only what serving needs: the codec's views (the readable tree and
the outcome of an answer) load with the first message read, and ``cryptography`` with the
first key used (a signature checked, a frame secured, a pack loaded), not with the app."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from webapp.web.server import release_free_heap

#: everything the worker imports to make the app and open the station on the simulated HAN
SERVING_MODULES = (
    "webapp.station",
    "webapp.web.app",
    "webapp.web.api",
    "webapp.web.app_shell",
    "webapp.web.auth",
    "webapp.web.hosts",
    "webapp.web.installer",
    "webapp.web.messages",
    "webapp.web.sockets",
    "webapp.web.supervisor",
    "webapp.web.workpacks",
    "webapp.sim.han.han",
    "webapp.sim.radio",
)
LOADED_ON_FIRST_MESSAGE = (
    "webapp.gbcs.alerts",
    "webapp.gbcs.asn1_view",
    "webapp.gbcs.describe",
    "webapp.gbcs.dlms_view",
    "webapp.gbcs.gbz_view",
    "webapp.gbcs.outcome",
)


def test_the_codec_views_load_with_the_first_message_not_with_the_app(
    fresh_python: Callable[[str], list[str]],
) -> None:
    script = (
        f"import sys\nfor name in {SERVING_MODULES!r}:\n    __import__(name)\n"
        f"print(' '.join(m for m in {LOADED_ON_FIRST_MESSAGE!r} if m in sys.modules))"
    )
    assert fresh_python(script) == []


def test_a_station_just_opened_has_not_loaded_cryptography(
    demo_dir: Path, fresh_python: Callable[[str], list[str]]
) -> None:
    """The app made and the station opened on the simulated HAN, as the worker does, with
    trusted certificates in the database: no key has been used, so no ``cryptography``.
    The first signature checked loads it and finds the signer."""
    script = f"""
import sys
from pathlib import Path
from webapp.station import open_app
from webapp.web.app import shutdown
app = open_app(Path({str(demo_dir)!r}), time_scale=1000.0)
station = app.extensions["hht"].station
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "cryptography")
supplier = station.store.reader().execute("SELECT eui FROM suppliers").fetchone()[0]
key = station.runner.certificates.public_key_for(supplier)
print(len(loaded), key is not None, "cryptography" in sys.modules)
shutdown(app)
"""
    # nothing of cryptography at open; looking the supplier's key up reads it, and loads it
    assert fresh_python(script) == ["0", "True", "True"]


def test_releasing_the_free_heap_is_harmless() -> None:
    release_free_heap()  # glibc's malloc_trim here; nothing where there is no glibc
    release_free_heap()
