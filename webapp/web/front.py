"""The front: the nginx that ``hht serve`` runs in front of gunicorn, and its configuration.

gunicorn's threads are few (16) and a thread is spent on a connection from the moment its
first byte arrives until its response is sent. nginx waits for slow and idle clients
without a thread each (its event loop), reads a whole request, headers and body, before
it passes it on, takes the whole response at once, and cuts off clients that dawdle. So:

- nginx listens on the address and port the phones use, terminates HTTPS when the data
  directory has a certificate, and proxies everything, websockets included, to gunicorn;
- gunicorn listens only on a unix socket in the run directory (owner-only), so nothing
  reaches it but nginx, which sets the client's address (``X-Forwarded-For``) and scheme;
- nginx compresses text (pages, CSS, scripts, JSON, SVG, the manifest) with gzip, so the
  Pi's Python spends neither memory nor time on it. Pages hold the CSRF token; a page is
  compressed with text an attacker chose only if the attacker's site can make the phone
  ask for it logged in, which the session cookie (``SameSite=Strict``) does not allow;
- this module only writes the configuration: :mod:`webapp.web.server` starts nginx as a
  child of gunicorn's arbiter, as the service's user, and stops the HHT when nginx stops.

It imports nothing but the standard library: the serving process's arbiter imports it.
"""

from __future__ import annotations

import contextlib
import grp
import hashlib
import ipaddress
import os
import pwd
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from webapp.web.hosts import device_names
from webapp.web.socket_gate import SOCKETIO_PATH, SOCKETS_PER_ADDRESS

#: Where nginx is looked for when it is not on the PATH (Debian puts it in /usr/sbin).
NGINX_PATHS = ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
RUN_DIR = "run"  # under the data directory: what exists only while the server runs
FRONT_DIR = "front"
CONFIG_FILE = "nginx.conf"
PID_FILE = "nginx.pid"
UPSTREAM_SOCKET = "gunicorn.sock"
#: nginx's temporary paths (``<directive>_temp_path``), each a directory of the run directory
TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
#: The longest path a unix socket may have (sun_path is 108 bytes with its NUL), with margin.
MAX_SOCKET_PATH = 100

# Timeouts (seconds). A phone on the van's Wi-Fi sends a request's headers in milliseconds.
CLIENT_HEADER_TIMEOUT_SECONDS = 10  # a new connection's request headers, or it is closed
CLIENT_BODY_TIMEOUT_SECONDS = 10  # between two reads of a request body
KEEPALIVE_TIMEOUT_SECONDS = 15  # an idle kept-alive connection
SEND_TIMEOUT_SECONDS = 30  # between two writes of a response the client does not read
UPSTREAM_CONNECT_TIMEOUT_SECONDS = 5
#: A page or API call: above the 120 s an API call may wait for the radio (web/bridge.py).
UPSTREAM_READ_TIMEOUT_SECONDS = 130
#: A live Socket.IO connection: above Engine.IO's ping interval and timeout (25 + 20 s).
SOCKET_READ_TIMEOUT_SECONDS = 60

# Limits.
WORKER_CONNECTIONS = 1024  # connections nginx holds at once (a websocket counts two)
OPEN_FILES = 4 * WORKER_CONNECTIONS
#: Requests in progress from one client address (a page loads its assets six at a time).
REQUESTS_PER_ADDRESS = 32
#: Live Socket.IO requests from one address: the same figure as the app's gate.
SOCKETS_PER_ADDRESS_AT_FRONT = SOCKETS_PER_ADDRESS
#: Above the app's upload limit (20 MiB, web/app.py) with room for the multipart wrapping.
MAX_BODY_BYTES = 24 * 1024 * 1024
CLIENT_BODY_BUFFER_BYTES = 128 * 1024  # larger bodies wait in the run directory's body/
REFUSED_STATUS = 429  # over a limit
#: A Host that is not this device's (as the app's own check answers: webapp/web/hosts.py)
UNKNOWN_HOST_STATUS = 400
UNKNOWN_HOST_MESSAGE = "This terminal does not answer to that name."
#: Names allowed besides the device's own, comma-separated (the app reads it too).
#: A stopping front finishes what it is passing on for this long (websockets stay open).
SHUTDOWN_SECONDS = 3

# Compression. HTML is always compressed (nginx's text/html); these types besides.
GZIP_TYPES = (
    "text/css",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/manifest+json",
    "image/svg+xml",
)
GZIP_LEVEL = 5  # of 9: most of the gain for little of the CPU
#: Shorter answers are sent as they are (gzip's header and the Vary header outweigh it).
GZIP_MIN_BYTES = 256


def find_nginx() -> Path | None:
    """The nginx binary, or None when it is not installed."""
    found = shutil.which("nginx")
    if found:
        return Path(found)
    for candidate in NGINX_PATHS:
        if os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


@dataclass(frozen=True)
class FrontFiles:
    """The front's files: its configuration, pid, temporary paths and gunicorn's socket."""

    directory: Path

    @property
    def config(self) -> Path:
        return self.directory / CONFIG_FILE

    @property
    def pid(self) -> Path:
        return self.directory / PID_FILE

    @property
    def upstream_socket(self) -> Path:
        return self.directory / UPSTREAM_SOCKET


def front_dir(data_dir: Path) -> Path:
    """``<data>/run/front``; when that path is too long for gunicorn's unix socket, a
    private directory in the temporary directory named after the data directory (the
    same at every start), or a fresh one if that name is taken by someone else."""
    directory = Path(data_dir).resolve() / RUN_DIR / FRONT_DIR
    if len(str(directory / UPSTREAM_SOCKET)) <= MAX_SOCKET_PATH:
        return directory
    digest = hashlib.sha256(str(directory).encode()).hexdigest()[:16]
    short = Path(tempfile.gettempdir()) / f"hht-front-{digest}"
    with contextlib.suppress(FileExistsError):
        short.mkdir(mode=0o700)
    found = short.lstat()
    if stat.S_ISDIR(found.st_mode) and found.st_uid == os.geteuid() and not found.st_mode & 0o077:
        return short
    return Path(tempfile.mkdtemp(prefix="hht-front-"))


def known_host_names(tls_names: list[str] | None = None) -> list[str]:
    """The names this device answers to, besides any IP address (DNS rebinding), as the
    app's Host check has them (:func:`webapp.web.hosts.device_names`: its host name, with
    ``.local``, ``localhost``, the names its TLS certificate carries and those in
    ``$HHT_ALLOWED_HOSTS``), each safe to write into nginx's configuration."""
    return sorted(name for name in device_names(extra=tls_names or []) if _plain_name(name))


def _plain_name(name: str) -> bool:
    return all(c.isalnum() or c in "-." for c in name)


def listen_address(host: str, port: int) -> str:
    """nginx's ``listen`` for ``hht serve --host``: every IPv4 and IPv6 address for ``::``."""
    if host == "::":
        return f"[::]:{port} ipv6only=off"
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]:{port}"
    except ValueError:
        pass
    return f"{host}:{port}"


def _quoted(path: Path | str) -> str:
    text = str(path)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _user_line() -> str:
    """Run as root only when started as root (``make run`` as root): nginx's workers would
    otherwise become ``nobody``, who may not reach the run directory."""
    if os.geteuid() != 0:
        return ""  # nginx keeps the user that started it: the service's
    user = pwd.getpwuid(os.geteuid()).pw_name
    group = grp.getgrgid(os.getegid()).gr_name
    return f"user {user} {group};\n"


def render_config(
    files: FrontFiles,
    *,
    host: str,
    port: int,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    host_names: list[str] | None = None,
) -> str:
    """The nginx configuration for this front (HTTPS when a certificate is given)."""
    d = files.directory
    temp = "\n".join(f"    {name}_temp_path {_quoted(d / name)};" for name in TEMP_DIRS)
    names = "\n".join(f"        {name} 1;" for name in host_names or known_host_names())
    ssl = ""
    if tls_cert is not None and tls_key is not None:
        ssl = (
            f"        ssl_certificate {_quoted(tls_cert)};\n"
            f"        ssl_certificate_key {_quoted(tls_key)};\n"
            "        ssl_protocols TLSv1.2 TLSv1.3;\n"
        )
    listen = listen_address(host, port) + (" ssl" if ssl else "")
    forwarded = (
        "        proxy_set_header Host $http_host;\n"
        "        proxy_set_header X-Forwarded-For $remote_addr;\n"
        "        proxy_set_header X-Forwarded-Proto $scheme;\n"
    )
    socket_path = SOCKETIO_PATH.rstrip("/") + "/"
    return f"""# Written by 'hht serve' at every start (webapp/web/front.py): edits are lost.
daemon off;
master_process off;
worker_processes 1;
worker_shutdown_timeout {SHUTDOWN_SECONDS}s;
worker_rlimit_nofile {OPEN_FILES};
pid {_quoted(files.pid)};
error_log stderr warn;
{_user_line()}
events {{
    worker_connections {WORKER_CONNECTIONS};
}}

http {{
    server_tokens off;
    # gunicorn writes the access log (no cookies, no query strings); nginx's refusals
    # (limits) go to its error log.
    access_log off;
{temp}

    client_header_timeout {CLIENT_HEADER_TIMEOUT_SECONDS}s;
    client_body_timeout {CLIENT_BODY_TIMEOUT_SECONDS}s;
    keepalive_timeout {KEEPALIVE_TIMEOUT_SECONDS}s;
    send_timeout {SEND_TIMEOUT_SECONDS}s;
    reset_timedout_connection on;
    client_max_body_size {MAX_BODY_BYTES};
    client_body_buffer_size {CLIENT_BODY_BUFFER_BYTES};

    limit_conn_zone $binary_remote_addr zone=per_address:1m;
    limit_conn_zone $binary_remote_addr zone=sockets_per_address:1m;
    limit_conn_status {REFUSED_STATUS};
    limit_conn_log_level warn;

    proxy_http_version 1.1;
    proxy_connect_timeout {UPSTREAM_CONNECT_TIMEOUT_SECONDS}s;
    proxy_send_timeout {SEND_TIMEOUT_SECONDS}s;
    proxy_read_timeout {UPSTREAM_READ_TIMEOUT_SECONDS}s;
    proxy_request_buffering on;
    proxy_buffering on;

    # Every answer comes from gunicorn ("proxied"); caches keyed by the encoding asked for.
    gzip on;
    gzip_comp_level {GZIP_LEVEL};
    gzip_min_length {GZIP_MIN_BYTES};
    gzip_proxied any;
    gzip_vary on;
    gzip_types {" ".join(GZIP_TYPES)};

    map $http_upgrade $hht_connection {{
        default upgrade;
        "" close;
    }}

    # The Host must name this device (an address, or one of its names): a page from a
    # rebound DNS name never reaches the app.
    map $host $hht_known_host {{
        default 0;
        "~^[0-9.]+$" 1;
        "~^\\[[0-9a-f:.]+\\]$" 1;
{names}
    }}

    upstream hht {{
        server {_quoted("unix:" + str(files.upstream_socket))};
    }}

    server {{
        listen {listen};
        server_name _;
{ssl}
        if ($hht_known_host = 0) {{
            return {UNKNOWN_HOST_STATUS} "{UNKNOWN_HOST_MESSAGE}\\n";
        }}

        location / {{
            limit_conn per_address {REQUESTS_PER_ADDRESS};
{forwarded}            proxy_pass http://hht;
        }}

        location {socket_path} {{
            limit_conn per_address {REQUESTS_PER_ADDRESS};
            limit_conn sockets_per_address {SOCKETS_PER_ADDRESS_AT_FRONT};
{forwarded}            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $hht_connection;
            proxy_buffering off;
            proxy_read_timeout {SOCKET_READ_TIMEOUT_SECONDS}s;
            proxy_send_timeout {SOCKET_READ_TIMEOUT_SECONDS}s;
            proxy_pass http://hht;
        }}
    }}
}}
"""


def write_config(
    data_dir: Path,
    *,
    host: str,
    port: int,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    host_names: list[str] | None = None,
) -> FrontFiles:
    """Write the front's configuration in the run directory (owner-only) and make its
    temporary directories; remove a socket an earlier run left."""
    files = FrontFiles(front_dir(data_dir))
    files.directory.mkdir(parents=True, exist_ok=True)
    os.chmod(files.directory.parent, 0o700)
    os.chmod(files.directory, 0o700)
    for name in TEMP_DIRS:
        (files.directory / name).mkdir(exist_ok=True)
    text = render_config(
        files, host=host, port=port, tls_cert=tls_cert, tls_key=tls_key, host_names=host_names
    )
    files.config.write_text(text)
    os.chmod(files.config, 0o600)
    return files


def nginx_command(nginx: Path | str, files: FrontFiles, *, test: bool = False) -> list[str]:
    """The command that runs (or with ``test``, checks) this front in the foreground."""
    command = [
        str(nginx),
        "-e",
        "stderr",
        "-p",
        str(files.directory) + "/",
        "-c",
        str(files.config),
    ]
    if test:
        command += ["-t", "-q"]
    return command
