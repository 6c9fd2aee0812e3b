"""Junk Socket.IO events: a clear error (or silence), the connection lives, data unchanged."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import login
from tests.web.conftest import SETTINGS, dump, json_values

EVENTS = ("join", "clock_pong", "no_such_event")


def _socket(app, client):  # type: ignore[no-untyped-def]
    return app.extensions["hht"].socketio.test_client(app, flask_test_client=client)


@SETTINGS
@given(event=st.sampled_from(EVENTS), payload=json_values | st.text(min_size=2000, max_size=5000))
def test_junk_socket_events_change_nothing(app, client, demo_jobs, event, payload):
    login(client, "installer")
    sock = _socket(app, client)
    assert sock.is_connected()
    before = dump(app)
    sock.emit(event, payload)
    received = sock.get_received()
    assert all(m["name"] in ("error", "job", "clock_ping") for m in received), received
    if event == "join" and not (
        isinstance(payload, dict) and isinstance(payload.get("job_id"), str)
    ):
        assert [m["name"] for m in received] == ["error"], payload
    if event == "clock_pong":
        # junk is refused with an error or ignored, never stored as a clock sample
        assert all(m["name"] == "error" for m in received), received
    assert sock.is_connected()
    assert dump(app) == before
    sock.disconnect()
