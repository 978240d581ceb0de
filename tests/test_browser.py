"""End to end in a real browser: headless Chromium, driven over the DevTools protocol, on
`briefs serve`: a search typed into Datasette's box, a brief's page, a table of briefs, the
chart of briefs a month, and a plugin analysts install. The tests read the page as it is
laid out (where things are, what is shown) and its screenshot, not only its HTML; they share
one server and one browser.

Needs Debian's chromium (/usr/bin/chromium); .ci/run installs it.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from datasette.utils import tilde_encode

from tests.png import Image, decode
from tests.processes import stop
from tests.test_search import SAMPLE
from tests.test_serve import MEXICO, MEXICO_EDITED, build_served_archive, served

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


class Browser:
    """One headless Chromium tab on a served archive, for the module's tests."""

    def __init__(self, base: str, tab: DevTools) -> None:
        self.base = base
        self.tab = tab

    def open(self, path: str) -> None:
        self.tab.send("Page.navigate", url=self.base + path)
        self.tab.wait_for("Page.loadEventFired")

    def submit(self, script: str) -> None:
        """Run `script` (which fills in a form and submits it) and wait for the next page."""
        self.tab.evaluate(script)
        self.tab.wait_for("Page.loadEventFired")

    def js(self, expression: str) -> object:
        return self.tab.evaluate(expression)

    def wait_until(self, expression: str, timeout: float = 10) -> object:
        deadline = time.monotonic() + timeout
        while not (value := self.js(expression)):
            if time.monotonic() > deadline:
                raise TimeoutError(expression)
            time.sleep(0.05)
        return value

    def screenshot(self) -> Image:
        shot = self.tab.send("Page.captureScreenshot", format="png")
        return decode(base64.b64decode(shot["data"]))

    def box(self, selector: str, text: bool = False) -> dict[str, float]:
        """Where the first element `selector` finds is in the viewport, in CSS pixels (with
        `text`, where its text is: a heading's box is as wide as the page)."""
        element = f"document.querySelector({json.dumps(selector)})"
        if text:
            element = (
                "(() => { const range = document.createRange();"
                f" range.selectNodeContents({element}); return range; }})()"
            )
        return self.js(
            f"(() => {{ const r = {element}.getBoundingClientRect();"
            " return {left: r.left, top: r.top, width: r.width, height: r.height}; })()"
        )


WIDTH, HEIGHT = 1280, 800  # the viewport: a laptop's screen


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[Browser]:
    folder = tmp_path_factory.mktemp("browser")
    db = folder / "archive.sqlite"
    build_served_archive(db)
    with served(db) as base:
        (folder / "profile").mkdir()
        chromium, devtools_http = start_chromium(folder / "profile")
        try:
            with urllib.request.urlopen(devtools_http + "/json/list", timeout=10) as response:
                page = next(t for t in json.load(response) if t["type"] == "page")
            tab = DevTools(page["webSocketDebuggerUrl"])
            try:
                tab.send("Page.enable")
                tab.send(
                    "Emulation.setDeviceMetricsOverride",
                    width=WIDTH,
                    height=HEIGHT,
                    deviceScaleFactor=1,
                    mobile=False,
                )
                yield Browser(base, tab)
            finally:
                tab.close()
        finally:
            stop(chromium)


def test_a_search_in_the_browser_finds_the_brief(browser):
    browser.open("/archive/briefs")
    assert SAMPLE[1].title in browser.js("document.body.innerText")
    # Type the query into Datasette's search box and submit its form, as a person.
    browser.submit(
        "const box = document.querySelector('input[name=_search]');"
        "box.value = 'peru'; box.form.requestSubmit(); true"
    )
    assert "_search=peru" in browser.js("location.href")
    text = browser.js("document.body.innerText")
    assert SAMPLE[0].title in text  # "Perú …"
    assert SAMPLE[1].title not in text


def dark(image: Image, box: dict[str, float]) -> int:
    """How many pixels inside `box` are dark (text), in a screenshot at scale 1."""
    return sum(
        1
        for y in range(int(box["top"]), int(box["top"] + box["height"]))
        for x in range(int(box["left"]), int(box["left"] + box["width"]))
        if sum(image.at(x, y)) < 200
    )


def test_a_brief_reads_as_a_brief_in_the_browser(browser):
    browser.open(f"/archive/briefs/{tilde_encode(MEXICO.url)}")
    # The title is the heading, at the top; the text is a column a reader can read.
    assert browser.js("[...document.querySelectorAll('h1')].map(h => h.innerText)") == [
        MEXICO.title
    ]
    heading = browser.box("article.brief h1", text=True)
    assert heading["top"] < 120 and heading["width"] > 200
    body = browser.box(".brief-body")
    assert 500 < body["width"] <= 800
    paragraphs = browser.js(
        "[...document.querySelectorAll('.brief-body p')].map(p => [p.innerText,"
        " p.getBoundingClientRect().height])"
    )
    assert [text for text, _ in paragraphs] == MEXICO_EDITED.body.split("\n\n")
    assert all(height < 40 for _, height in paragraphs)  # a short paragraph on one line
    assert body["top"] < HEIGHT  # in the first screen, under the date and filing
    filing = browser.js("document.querySelector('.brief-filing').innerText")
    assert "Mexico" in filing and "Steven Dudley" in filing and "Police Reform" in filing
    related = browser.js("document.querySelector('.brief-related').innerText")
    assert SAMPLE[2].title in related and "An Investigation Elsewhere" in related
    revisions = browser.js(
        "[...document.querySelectorAll('.brief-revisions tbody tr')].map(r => r.innerText)"
    )
    assert [row.split()[0] for row in revisions] == ["1", "2"]
    # What the screen shows: the heading's text where the page says it is.
    shot = browser.screenshot()
    assert (shot.width, shot.height) == (WIDTH, HEIGHT)
    assert dark(shot, heading) > 500
    assert dark(shot, {**heading, "left": heading["left"] + heading["width"] + 20}) == 0


def test_a_table_of_briefs_in_the_browser(browser):
    browser.open("/archive/briefs")
    shown = browser.js(
        "[...document.querySelectorAll('table.rows-and-columns th')]"
        ".filter(th => th.offsetWidth > 0).map(th => th.dataset.column)"
    )
    assert sorted(shown) == sorted(
        ["title", "published", "section", "countries", "authors", "language"]
    )
    # The search box and the facets in the first screen: the column descriptions folded.
    assert browser.box("input[name=_search]")["top"] + 40 < HEIGHT
    assert browser.box(".facet-results")["top"] + 100 < HEIGHT
    assert browser.js("document.querySelector('details.briefs-columns').open") is False
    assert (
        browser.js("getComputedStyle(document.querySelector('dl.column-descriptions')).display")
        == "none"
    )
    years = browser.js("[...document.querySelectorAll('#facet-year li a')].map(a => a.innerText)")
    assert years == ["2019", "2020", "2021", "2022"]
    countries = browser.js(
        "[...document.querySelectorAll('#facet-country_codes li a')].map(a => a.innerText)"
    )
    assert countries[0] == "Mexico" and "Papua New Guinea" in countries
    # One click shows every column.
    browser.submit("document.querySelector('a.briefs-all-columns').click(); true")
    shown = browser.js(
        "[...document.querySelectorAll('table.rows-and-columns th')]"
        ".filter(th => th.offsetWidth > 0).map(th => th.dataset.column)"
    )
    assert {"related", "content_hash", "capture_id", "url"} <= set(shown)
    assert "body" not in shown


BAR = (0x4A, 0x6F, 0xA5)  # the bars' fill


def bars(browser: Browser) -> list[tuple[str, int, float]]:
    return browser.js(
        "[...document.querySelectorAll('svg.briefs-chart rect.bar')].map(r =>"
        " [r.dataset.month, Number(r.dataset.briefs), r.getBoundingClientRect().height])"
    )


def test_the_chart_of_briefs_a_month_in_the_browser(browser):
    browser.open("/archive/-/chart")
    drawn = bars(browser)
    # A bar a month from the first brief's (May 2019) to the last's (November 2022).
    assert len(drawn) == 12 * 3 + 7 and drawn[0][0] == "2019-05" and drawn[-1][0] == "2022-11"
    assert sum(count for _, count, _ in drawn) == 5
    tallest = max(drawn, key=lambda bar: bar[2])
    assert tallest[:2] == ["2021-03", 2]  # both editions of the Mexico brief
    assert all((height > 0) == (count > 0) for _, count, height in drawn)
    # The screen shows it: the tallest bar's colour fills its box.
    box = browser.js(
        "(() => { const r = document.querySelector('rect.bar[data-month=\"2021-03\"]')"
        ".getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()"
    )
    shot = browser.screenshot()
    assert shot.at(int(box[0]), int(box[1])) == BAR
    # A filter, typed into the form, changes them: Mexico's briefs, July 2020 to March 2021.
    browser.submit(
        "document.querySelector('input[name=country]').value = 'Mexico';"
        "document.querySelector('form.briefs-chart-filters').requestSubmit(); true"
    )
    drawn = bars(browser)
    assert [bar[0] for bar in drawn][:: len(drawn) - 1] == ["2020-07", "2021-03"]
    assert len(drawn) == 9 and sum(count for _, count, _ in drawn) == 3


def test_a_plugin_analysts_install_works_in_the_browser(browser):
    pytest.importorskip("datasette_vega", reason="datasette-vega is not installed (test extra)")
    browser.open("/archive/tag_timeline?tag=Cocaine")
    # datasette-vega's own script (served by briefs serve, no CDN) adds its charting form.
    button = "[...document.querySelectorAll('button')].find(b => b.innerText.includes('chart'))"
    assert browser.wait_until(f"!!({button})")
    browser.js(f"{button}.click(); true")
    assert browser.wait_until("document.querySelectorAll('select').length >= 2")
