"""End to end in a real browser: headless Chromium, driven over the DevTools protocol, types a
search into `briefs serve`'s Datasette page and finds the brief.

Needs Debian's chromium (/usr/bin/chromium); .ci/run installs it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.processes import stop
from tests.test_search import SAMPLE, build_archive
from tests.test_serve import served

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; CI does)"
)


class DevTools:
    """The smallest Chrome DevTools protocol client: commands and the events between them."""

    def __init__(self, websocket_url: str) -> None:
        import websocket  # websocket-client, in the test extra

        self.socket = websocket.create_connection(websocket_url, timeout=20, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, **params: object) -> dict:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return message["result"]
            self.events.append(message)

    def wait_for(self, event: str, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.events:
                if message.get("method") == event:
                    self.events.remove(message)
                    return message
            self.events.append(json.loads(self.socket.recv()))
        raise TimeoutError(event)

    def evaluate(self, expression: str) -> object:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def close(self) -> None:
        self.socket.close()


def start_chromium(profile: Path, *flags: str) -> tuple[subprocess.Popen, str]:
    """Headless Chromium with a fresh profile (and these command-line flags besides); returns
    it and its DevTools HTTP address."""
    process = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            *flags,
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 30
    while not (port_file.exists() and port_file.read_text().strip()):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("chromium did not start")
        time.sleep(0.05)
    return process, f"http://127.0.0.1:{port_file.read_text().split()[0]}"


def test_a_search_in_the_browser_finds_the_brief(tmp_path):
    db = tmp_path / "archive.sqlite"
    build_archive(db).close()
    with served(db) as base:
        browser, devtools_http = start_chromium(tmp_path / "profile")
        try:
            with urllib.request.urlopen(devtools_http + "/json/list", timeout=10) as response:
                page = next(t for t in json.load(response) if t["type"] == "page")
            tab = DevTools(page["webSocketDebuggerUrl"])
            try:
                tab.send("Page.enable")
                tab.send("Page.navigate", url=f"{base}/archive/briefs")
                tab.wait_for("Page.loadEventFired")
                assert SAMPLE[1].title in tab.evaluate("document.body.innerText")
                # Type the query into Datasette's search box and submit its form, as a person.
                tab.evaluate(
                    "const box = document.querySelector('input[name=_search]');"
                    "box.value = 'peru'; box.form.requestSubmit(); true"
                )
                tab.wait_for("Page.loadEventFired")
                assert "_search=peru" in tab.evaluate("location.href")
                text = tab.evaluate("document.body.innerText")
                assert SAMPLE[0].title in text  # "Perú …"
                assert SAMPLE[1].title not in text
            finally:
                tab.close()
        finally:
            stop(browser)
