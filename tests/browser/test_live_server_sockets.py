"""Socket.IO on the production server (gunicorn threads): websocket, login, same origin."""

from __future__ import annotations

import re

import pytest
import requests
import socketio

from webapp.sim.demo import DEMO_INSTALLER


def _logged_in_cookie(url: str) -> str:
    session = requests.Session()
    page = session.get(f"{url}/login?role=installer", timeout=10)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    response = session.post(
        f"{url}/login?role=installer",
        data={
            "username": DEMO_INSTALLER[0],
            "secret": DEMO_INSTALLER[2],
            "role": "installer",
            "csrf_token": token,
        },
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


def test_websocket_snapshot_and_refusals(server, demo_jobs):
    cookie = _logged_in_cookie(server)
    client = socketio.Client()
    received: list[dict] = []
    client.on("job", received.append)
    client.connect(server, transports=["websocket"], headers={"Cookie": cookie})
    try:
        assert client.transport() == "websocket"
        client.emit("join", {"job_id": demo_jobs[0]["id"]})
        for _ in range(50):
            if received:
                break
            client.sleep(0.1)
        assert received and received[0]["type"] == "snapshot"
    finally:
        client.disconnect()
    for headers in ({}, {"Cookie": cookie, "Origin": "http://elsewhere.example"}):
        refused = socketio.Client()
        with pytest.raises(socketio.exceptions.ConnectionError):
            refused.connect(server, transports=["websocket"], headers=headers)
