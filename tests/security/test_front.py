"""The front's configuration (nginx, checked by ``nginx -t``) and gunicorn's settings: the
timeouts and limits that keep slow, idle and greedy clients from holding the server."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from gunicorn.config import Config

from tests.security.live import need_nginx
from webapp.web import front
from webapp.web.hosts import ALLOWED_HOSTS_ENV, certificate_names
from webapp.web.server import ACCESS_LOG_FORMAT, gunicorn_settings
from webapp.web.socket_gate import SOCKETS_PER_ADDRESS
from webapp.web.tls import init_tls


def _directive(text: str, name: str) -> list[str]:
    return re.findall(rf"^\s*{name}\s+([^;{{]+);", text, re.M)


def _nginx_accepts(files: front.FrontFiles) -> None:
    nginx = need_nginx()
    check = subprocess.run(
        front.nginx_command(nginx, files, test=True), capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr


def test_the_front_config_has_its_timeouts_and_limits_and_nginx_accepts_it(tmp_path: Path):
    files = front.write_config(tmp_path, host="0.0.0.0", port=8080)
    text = files.config.read_text()
    assert _directive(text, "client_header_timeout") == ["10s"]
    assert _directive(text, "client_body_timeout") == ["10s"]
    assert _directive(text, "keepalive_timeout") == ["15s"]
    assert _directive(text, "send_timeout") == ["30s"]
    assert _directive(text, "worker_connections") == ["1024"]
    assert _directive(text, "limit_conn") == [
        "per_address 32",
        "per_address 32",
        f"sockets_per_address {SOCKETS_PER_ADDRESS}",
    ]
    assert _directive(text, "listen") == ["0.0.0.0:8080"]
    assert _directive(text, "server") == [f'"unix:{files.upstream_socket}"']
    assert _directive(text, "proxy_request_buffering") == ["on"]
    assert "proxy_set_header Upgrade $http_upgrade" in text
    assert _directive(text, "access_log") == ["off"]  # gunicorn writes it
    assert _directive(text, "gzip") == ["on"]
    assert _directive(text, "gzip_proxied") == ["any"]  # everything comes from gunicorn
    assert _directive(text, "gzip_vary") == ["on"]
    assert set(_directive(text, "gzip_types")[0].split()) >= {
        "text/css",
        "text/javascript",
        "application/json",
        "application/manifest+json",
        "image/svg+xml",
    }
    assert (files.directory.stat().st_mode & 0o777) == 0o700
    _nginx_accepts(files)


def test_the_front_terminates_https_when_the_device_has_a_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(ALLOWED_HOSTS_ENV, "hht.fleet.example, other.example")
    tls = init_tls(tmp_path, ["localhost", "hht-van-12"], ["127.0.0.1"])
    names = certificate_names(tls.server_cert)
    assert "hht-van-12" in names
    files = front.write_config(
        tmp_path,
        host="::",
        port=8443,
        tls_cert=tls.server_cert,
        tls_key=tls.server_key,
        host_names=front.known_host_names(names),
    )
    text = files.config.read_text()
    assert _directive(text, "listen") == ["[::]:8443 ipv6only=off ssl"]
    assert _directive(text, "ssl_certificate") == [f'"{tls.server_cert}"']
    for name in ("hht-van-12", "hht.fleet.example", "other.example", "localhost"):
        assert re.search(rf"^\s*{re.escape(name)} 1;$", text, re.M), name
    _nginx_accepts(files)


def test_a_data_dir_too_deep_for_a_unix_socket_gets_a_short_run_dir(tmp_path: Path):
    deep = tmp_path / ("d" * 90)
    files = front.write_config(deep, host="127.0.0.1", port=8080)
    try:
        assert len(str(files.upstream_socket)) <= front.MAX_SOCKET_PATH
        assert (files.directory.stat().st_mode & 0o777) == 0o700
        assert front.front_dir(deep) == files.directory  # the same one at every start
    finally:
        shutil.rmtree(files.directory)


def test_the_front_lets_through_what_the_app_allows(app):  # type: ignore[no-untyped-def]
    from webapp.web.bridge import CALL_TIMEOUT_SECONDS

    assert app.config["MAX_CONTENT_LENGTH"] < front.MAX_BODY_BYTES
    assert front.UPSTREAM_READ_TIMEOUT_SECONDS > CALL_TIMEOUT_SECONDS
    engineio = app.extensions["hht"].socketio.server.eio
    silence = engineio.ping_interval + engineio.ping_timeout  # before Engine.IO gives up
    assert silence < front.SOCKET_READ_TIMEOUT_SECONDS


@pytest.mark.parametrize("behind_front", [True, False])
def test_gunicorn_logs_access_keeps_timeouts_and_has_no_control_socket(behind_front: bool):
    settings = gunicorn_settings("unix:/x.sock", 16, None, behind_front=behind_front)
    config = Config()
    for key, value in settings.items():
        config.set(key, value)  # every one is a setting this gunicorn knows
    assert config.control_socket_disable is True
    assert config.accesslog == "-"
    assert config.timeout == 60 and config.keepalive == 2 and config.graceful_timeout == 10
    assert config.worker_class_str == "gthread" and config.threads == 16
    for secret in ("%(r)s", "%(q)s", "%(f)s", "%(a)s", "i)s"):  # request line, query, headers
        assert secret not in ACCESS_LOG_FORMAT


def test_without_nginx_hht_serve_says_so_and_serves_directly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    from webapp.cli import serve

    monkeypatch.setattr(front, "find_nginx", lambda: None)
    assert serve._front(tmp_path, "auto", "127.0.0.1", 8080, None) == (None, None)
    assert "nginx is not installed" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        serve._front(tmp_path, "nginx", "127.0.0.1", 8080, None)  # asked for: no fallback
    assert "nginx is not installed" in capsys.readouterr().err
    assert serve._front(tmp_path, "none", "127.0.0.1", 8080, None) == (None, None)
    assert capsys.readouterr().err == ""  # chosen on purpose: no warning
