"""Socket.IO connections: authenticated, same-origin, snapshot first."""

from __future__ import annotations

from tests.conftest import login


def _socket(app, client, **kwargs):  # type: ignore[no-untyped-def]
    return app.extensions["hht"].socketio.test_client(app, flask_test_client=client, **kwargs)


def test_anonymous_socket_is_refused(app, client):
    sock = _socket(app, client)
    assert not sock.is_connected()


def test_installer_gets_a_full_snapshot_on_join(app, client, demo_jobs):
    login(client, "installer")
    sock = _socket(app, client)
    assert sock.is_connected()
    job = demo_jobs[0]
    sock.emit("join", {"job_id": job["id"]})
    received = sock.get_received()
    snapshots = [m for m in received if m["name"] == "job" and m["args"][0]["type"] == "snapshot"]
    assert snapshots, received
    snap = snapshots[0]["args"][0]["snapshot"]
    assert snap["job"]["id"] == job["id"]
    assert snap["progress"]["total"] == sum(len(sr["commands"]) for sr in snap["service_requests"])
    assert snap["progress"]["total"] > 0


def test_installer_cannot_join_another_installers_job(app, client, demo_jobs):
    login(client, "installer")
    sock = _socket(app, client)
    other = [j for j in demo_jobs if j["assignee_id"] != demo_jobs[0]["assignee_id"]][0]
    sock.emit("join", {"job_id": other["id"]})
    received = sock.get_received()
    assert [m["name"] for m in received] == ["error"]


def test_junk_join_events_get_an_error(app, client):
    login(client, "installer")
    sock = _socket(app, client)
    for junk in (None, "x", 5, {"job_id": 7}, {"job_id": "x" * 500}, [1, 2]):
        sock.emit("join", junk)
        received = sock.get_received()
        assert received and received[0]["name"] == "error", junk


def test_cross_origin_socket_is_refused(app, client):
    login(client, "installer")
    sock = _socket(app, client, headers={"Origin": "http://evil.example"})
    assert not sock.is_connected()
