"""The installer's run page as a phone's browser loads it through the real front (``hht
serve``: nginx, gunicorn, the app): the bytes moved on a first load (empty cache) and on a
second load (the same page opened again, the browser's cache kept), and the requests of each.

Bytes are what Chromium counts as received for each request (headers and body as sent,
compressed or not), over HTTP; the job's websocket is counted apart. The service worker is
blocked, so the figures are the HTTP cache's alone (with HTTPS, the service worker also
keeps the shell for offline use).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from webapp.bench.attack import _first_job, make_demo, running_server
from webapp.bench.chromium import CHROMIUM, CHROMIUM_ARGS
from webapp.sim.demo import DEMO_INSTALLER

PHONE = {"width": 390, "height": 844}
#: After the load event: the page's clock fetch and its socket's first messages.
SETTLE_MS = 1500
NAVIGATION_TIMEOUT_MS = 30_000
KIB = 1024


@dataclass
class Load:
    """What one page load moved: per request, the bytes received and how it was served."""

    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    cached: set[str] = field(default_factory=set)
    websocket_bytes: int = 0

    def on_response(self, event: dict[str, Any]) -> None:
        response = event["response"]
        headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
        self.requests[event["requestId"]] = {
            "url": response["url"],
            "status": response["status"],
            "encoding": headers.get("content-encoding", ""),
            "cache_control": headers.get("cache-control", ""),
            "from_cache": bool(response.get("fromDiskCache") or response.get("fromMemoryCache")),
            "bytes": 0,
        }

    def on_served_from_cache(self, event: dict[str, Any]) -> None:
        self.cached.add(event["requestId"])

    def on_finished(self, event: dict[str, Any]) -> None:
        request = self.requests.get(event["requestId"])
        if request is not None:
            request["bytes"] = int(event["encodedDataLength"])

    def on_frame(self, event: dict[str, Any]) -> None:
        self.websocket_bytes += len(event["response"].get("payloadData", ""))

    def figures(self) -> dict[str, Any]:
        for request_id in self.cached & self.requests.keys():
            self.requests[request_id]["from_cache"] = True
        network = [r for r in self.requests.values() if not r["from_cache"]]
        return {
            "bytes": sum(r["bytes"] for r in network),
            "requests_over_network": len(network),
            "requests_from_cache": len(self.requests) - len(network),
            "websocket_bytes": self.websocket_bytes,
            "parts": [
                {key: r[key] for key in ("url", "status", "bytes", "encoding", "from_cache")}
                for r in self.requests.values()
            ],
        }


@contextmanager
def _phone_page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE, is_mobile=True, service_workers="block")
    try:
        page = context.new_page()
        page.set_default_timeout(NAVIGATION_TIMEOUT_MS)
        yield page
    finally:
        context.close()


def _measured_load(page: Any, cdp: Any, url: str) -> dict[str, Any]:
    load = Load()
    handlers = {
        "Network.responseReceived": load.on_response,
        "Network.requestServedFromCache": load.on_served_from_cache,
        "Network.loadingFinished": load.on_finished,
        "Network.webSocketFrameReceived": load.on_frame,
        "Network.webSocketFrameSent": load.on_frame,
    }
    for name, handler in handlers.items():
        cdp.on(name, handler)
    page.goto(url, wait_until="load")
    page.wait_for_timeout(SETTLE_MS)
    for name, handler in handlers.items():
        cdp.remove_listener(name, handler)
    return load.figures()


def _log_in(page: Any, base: str) -> None:
    page.goto(f"{base}/login?role=installer")
    page.fill("#username", DEMO_INSTALLER[0])
    page.fill("#secret", DEMO_INSTALLER[2])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/i/**")


def run_page_weight(base: str, job_id: str) -> dict[str, Any]:
    """The run page's first and second load through the server at ``base``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            with _phone_page(browser) as page:
                _log_in(page, base)
                cdp = page.context.new_cdp_session(page)
                cdp.send("Network.enable")
                cdp.send("Network.clearBrowserCache")
                url = f"{base}/i/jobs/{job_id}/run"
                first = _measured_load(page, cdp, url)
                second = _measured_load(page, cdp, url)
        finally:
            browser.close()
    return {"first_load": first, "second_load": second}


def page_weight_figures() -> dict[str, Any]:
    """``make bench``'s figures: the run page's weight, first and second load."""
    if not CHROMIUM.exists():
        return {"skipped": f"{CHROMIUM} is missing (make browser installs it)"}
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        make_demo(data_dir)
        job_id = _first_job(data_dir, DEMO_INSTALLER[0])
        with running_server(data_dir) as (port, _):
            return run_page_weight(f"http://127.0.0.1:{port}", job_id)


def print_page_weight(figures: dict[str, Any]) -> None:
    if "skipped" in figures:
        print(f"Run page weight                skipped ({figures['skipped']})")
        return
    for name in ("first_load", "second_load"):
        f = figures[name]
        print(
            f"Run page, {name.replace('_', ' '):11}          {f['bytes'] / KIB:8.1f} KiB over "
            f"{f['requests_over_network']} requests ({f['requests_from_cache']} from the "
            f"cache); websocket {f['websocket_bytes'] / KIB:.1f} KiB"
        )


if __name__ == "__main__":
    import json

    result = page_weight_figures()
    print_page_weight(result)
    print(json.dumps(result, indent=2))
