"""An idle server holds only what serving needs: the codec's views (the readable tree and
the outcome of an answer) load with the first message read, not with the app."""

from __future__ import annotations

import subprocess
import sys

from webapp.web.server import release_free_heap

IMPORT_TIMEOUT_S = 60
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


def test_the_codec_views_load_with_the_first_message_not_with_the_app() -> None:
    script = (
        f"import sys\nfor name in {SERVING_MODULES!r}:\n    __import__(name)\n"
        f"print(' '.join(m for m in {LOADED_ON_FIRST_MESSAGE!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=IMPORT_TIMEOUT_S,
        check=True,
    )
    assert done.stdout.split() == []


def test_releasing_the_free_heap_is_harmless() -> None:
    release_free_heap()  # glibc's malloc_trim here; nothing where there is no glibc
    release_free_heap()
