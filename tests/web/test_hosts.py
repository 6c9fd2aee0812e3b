"""DNS rebinding: a request whose Host is not one of the terminal's names gets a 400
before any route or Socket.IO runs; its addresses and names still work."""

from __future__ import annotations

import socket

import pytest

from webapp.web.hosts import ALLOWED_HOSTS_ENV, REFUSED_BODY, device_names, host_allowed


def test_the_test_clients_host_is_served(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert response.request.host == "localhost"


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8080", "localhost.evil.example", "EVIL.example."]
)
def test_a_rebound_name_is_refused_before_any_route(client, host):
    for path in ("/login", "/api/clock", "/socket.io/?EIO=4&transport=polling", "/nope"):
        response = client.get(path, base_url=f"http://{host}")
        assert response.status_code == 400, (host, path)
        assert response.get_data() == REFUSED_BODY
    posted = client.post("/login", base_url=f"http://{host}", data={"username": "alex"})
    assert posted.status_code == 400 and posted.get_data() == REFUSED_BODY


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:8080",
        "10.42.0.1",
        "[::1]:8080",
        "[fe80::1]",
        "localhost:8080",
        "LOCALHOST.",
        socket.gethostname(),
        f"{socket.gethostname()}.local:8080",
    ],
)
def test_the_terminals_addresses_and_names_are_served(client, host):
    assert client.get("/login", base_url=f"http://{host}").status_code == 200


def test_names_can_be_added_by_setting_and_environment(monkeypatch):
    monkeypatch.setenv(ALLOWED_HOSTS_ENV, "hht-van-12.example, other.example")
    names = device_names(["Van12.Fleet.Example"])
    assert host_allowed("hht-van-12.example:443", names)
    assert host_allowed("other.example", names)
    assert host_allowed("van12.fleet.example", names)
    assert not host_allowed("evil.example", names)
    assert host_allowed(None, names) and host_allowed("", names)  # HTTP/1.0: no browser


def test_the_app_setting_is_honoured(demo_dir):
    from webapp.station import open_app
    from webapp.web.app import shutdown

    app = open_app(
        demo_dir,
        time_scale=1000.0,
        test_config={"TESTING": True, "HHT_ALLOWED_HOSTS": ["hht.fleet.example"]},
    )
    try:
        client = app.test_client()
        assert client.get("/login", base_url="http://hht.fleet.example").status_code == 200
        assert client.get("/login", base_url="http://evil.example").status_code == 400
    finally:
        shutdown(app)


def test_the_tls_certificates_names_are_served(demo_dir):
    from webapp.station import open_app
    from webapp.web.app import shutdown
    from webapp.web.tls import init_tls

    init_tls(demo_dir, ["hht-van-12"], ["10.42.0.1"])
    app = open_app(demo_dir, time_scale=1000.0, test_config={"TESTING": True})
    try:
        client = app.test_client()
        assert client.get("/login", base_url="http://hht-van-12:8080").status_code == 200
        assert client.get("/login", base_url="http://hht-van-13").status_code == 400
    finally:
        shutdown(app)
