"""A page replayed from a WARC as a reader sees it: pywb serves the WARC on 127.0.0.1,
headless Chromium loads the page from it, and the replay gives back a screenshot and the
URLs pywb answered from the archive while the page loaded (and those it did not find).

Needs pywb (in its own virtualenv: tests.test_wacz.PYWB_VENV) and Debian's chromium; a test
that replays is skipped, saying which is missing, without them.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import iso_date_to_timestamp

from tests.processes import stop
from tests.test_browser import CHROMIUM, DevTools, start_chromium
from tests.test_wacz import pywb_python

# The window the page is shown in (CSS pixels, one device pixel each).
WIDTH, HEIGHT = 400, 300

# Run by pywb's Python in the replay's own folder: a collection with the WARC added, and
# pywb's app served on a free port of 127.0.0.1 (printed as "port N"), with each request it
# answers written to the log as [path, status].
_SERVE = """
from gevent.monkey import patch_all; patch_all()
import contextlib, json, sys
from gevent.pywsgi import WSGIServer
from pywb.manager.manager import main as wb_manager
from pywb.apps.frontendapp import FrontEndApp
with contextlib.redirect_stdout(sys.stderr):
    wb_manager(["init", "coll"])
    wb_manager(["add", "coll", sys.argv[1]])
app = FrontEndApp()
log = open(sys.argv[2], "a", buffering=1)
def logged(environ, start_response):
    query = environ.get("QUERY_STRING")
    path = environ["PATH_INFO"] + ("?" + query if query else "")
    def start(status, headers, exc_info=None):
        log.write(json.dumps([path, int(status.split()[0])]) + "\\n")
        return start_response(status, headers, exc_info)
    return app(environ, start)
server = WSGIServer(("127.0.0.1", 0), logged, log=None)
server.start()
print("port", server.server_port, flush=True)
server.serve_forever()
"""
# A replay request: the collection, a 14-digit timestamp and a modifier (cs_, im_, js_...).
_REPLAYED = re.compile(r"^/coll/\d{1,14}(?:[a-z]{2}_)?/(.+)$")


@dataclass
class Replay:
    screenshot: bytes  # PNG, WIDTH x HEIGHT
    served: list[str]  # the URLs answered from the archive, in the order asked for
    missing: list[str]  # the URLs asked for that the archive does not hold (404)


def latest_capture(warc: Path, url: str) -> str:
    """The 14-digit timestamp of the latest response record for `url` in `warc`."""
    found = []
    with warc.open("rb") as stream:
        for record in ArchiveIterator(stream):
            headers = record.rec_headers
            if record.rec_type == "response" and headers.get_header("WARC-Target-URI") == url:
                found.append(iso_date_to_timestamp(headers.get_header("WARC-Date")))
    if not found:
        raise ValueError(f"{warc} holds no response for {url}")
    return max(found)


def replay(warc: Path, url: str, folder: Path) -> Replay:
    """The page at `url`, its latest capture, replayed from `warc` by pywb in headless
    Chromium; `folder` (empty) holds pywb's collection and the browser's profile. Skips the
    test when pywb or chromium is missing."""
    python = pywb_python()
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium; CI does)")
    timestamp = latest_capture(warc, url)
    (folder / "pywb").mkdir(parents=True)
    # Unframed: the page is the top document, as a reader's browser shows it, not inside
    # pywb's frame.
    (folder / "pywb" / "config.yaml").write_text("framed_replay: false\n")
    log = folder / "pywb-requests.jsonl"
    pywb = subprocess.Popen(
        [python, "-c", _SERVE, str(warc.resolve()), str(log)],
        cwd=folder / "pywb",
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        port = _port(pywb)
        screenshot = _screenshot(f"http://127.0.0.1:{port}/coll/{timestamp}/{url}", folder)
    finally:
        stop(pywb)
    served, missing = [], []
    for line in log.read_text().splitlines():
        path, status = json.loads(line)
        if replayed := _REPLAYED.match(path):
            if 200 <= status < 300:
                served.append(replayed.group(1))
            elif status == 404:
                missing.append(replayed.group(1))
    return Replay(screenshot, served, missing)


def _port(pywb: subprocess.Popen) -> str:
    """The port pywb says it serves on, once its collection is made and its app loaded."""
    watchdog = threading.Timer(60, pywb.kill)  # a pywb that never starts must not hang
    watchdog.start()
    try:
        for line in pywb.stdout:
            if line.startswith("port "):
                return line.split()[1]
    finally:
        watchdog.cancel()
    pytest.fail("pywb did not start")


def _screenshot(address: str, folder: Path) -> bytes:
    """A PNG of the page at `address` once it and its fonts have loaded."""
    # No name resolves but 127.0.0.1's: a URL pywb failed to rewrite cannot reach the web.
    browser, devtools_http = start_chromium(
        folder / "profile", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
    )
    try:
        with urllib.request.urlopen(devtools_http + "/json/list", timeout=10) as response:
            page = next(t for t in json.load(response) if t["type"] == "page")
        tab = DevTools(page["webSocketDebuggerUrl"])
        try:
            tab.send(
                "Emulation.setDeviceMetricsOverride",
                width=WIDTH,
                height=HEIGHT,
                deviceScaleFactor=1,
                mobile=False,
            )
            tab.send("Page.enable")
            tab.send("Page.navigate", url=address)
            tab.wait_for("Page.loadEventFired")
            # Web fonts may still be loading at the load event; then two frames painted.
            tab.send(
                "Runtime.evaluate",
                expression="document.fonts.ready.then(() => new Promise(done =>"
                " requestAnimationFrame(() => requestAnimationFrame(done))))",
                awaitPromise=True,
            )
            shot = tab.send("Page.captureScreenshot", format="png")
            return base64.b64decode(shot["data"])
        finally:
            tab.close()
    finally:
        stop(browser)
