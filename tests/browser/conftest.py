"""Browser fixtures: the real app on a local port, Debian's Chromium, and a page helper that draws.

The app is the session `app` from tests/conftest.py (committed weights), served by werkzeug in a
thread so that the browser talks to it over real HTTP, as a person's browser would. Tests that
store samples use `site` instead: a fresh app per test module with its own data folder and online
learning switched on, which they serve by overriding `server` (see test_teach.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from pydantic import BaseModel
from werkzeug.serving import WSGIRequestHandler, make_server

from app.config import ROOT
from app.offline.pendigits import PenDigit, held_out
from app.samples.storage import LocalStorage
from app.samples.store import SampleStore
from tests.conftest import MakeApp

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

Point = tuple[float, float]


@dataclass
class PredictProbe:
    """WSGI middleware in front of the app: counts /api/predict calls and their peak concurrency.

    `delay` holds each prediction back, so that a test can draw faster than the server answers.
    """

    app: Callable[..., Any]
    delay: float = 0.0
    calls: int = 0
    peak: int = 0
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/api/predict":
            return self.app(environ, start_response)
        with self._lock:
            self.calls += 1
            self._in_flight += 1
            self.peak = max(self.peak, self._in_flight)
        try:
            time.sleep(self.delay)
            return self.app(environ, start_response)
        finally:
            with self._lock:
                self._in_flight -= 1

    def reset(self) -> None:
        with self._lock:
            self.delay, self.calls, self.peak = 0.0, 0, 0


@dataclass
class Server:
    origin: str
    probe: PredictProbe


class QuietHandler(WSGIRequestHandler):
    """No access log: hundreds of predictions would bury the test output."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@contextmanager
def serving(app: Flask) -> Iterator[Server]:
    """Serve `app` on a free local port from a thread, until the block ends."""
    probe = PredictProbe(app.wsgi_app)
    httpd = make_server("127.0.0.1", 0, probe, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{httpd.server_port}", probe)
    finally:
        httpd.shutdown()
        thread.join()


@pytest.fixture(scope="session")
def server(app: Flask) -> Iterator[Server]:
    with serving(app) as served:
        yield served


@dataclass
class Site:
    """A fresh app of one test module, served, and what it has stored."""

    app: Flask
    server: Server
    data_dir: Path

    def store(self) -> SampleStore:
        """The app's data folder, read as the app wrote it."""
        return SampleStore(LocalStorage(self.data_dir))

    def samples(self) -> list[dict[str, Any]]:
        """Every stored sample's metadata, oldest first."""
        return list(self.store().all())


@pytest.fixture(scope="module")
def site(make_app: MakeApp, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A fresh app with its own data folder, so corrections are stored where the test can read them (and
    the online nets really learn, from the reference digits shipped in models/)."""
    data_dir = tmp_path_factory.mktemp("site")
    app = make_app(DATA_DIR=data_dir, LEARNING=True)
    with serving(app) as served:
        yield Site(app, served, data_dir)


@pytest.fixture()
def probe(server: Server) -> Iterator[PredictProbe]:
    server.probe.reset()
    yield server.probe
    server.probe.reset()


@pytest.fixture(scope="session")
def build_dir() -> Path:
    """Where screenshots and measured figures go (git-ignored)."""
    folder = ROOT / "build"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class PageLog:
    """What a page did that a person would not see: console errors, uncaught exceptions, requests."""

    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def predictions(self) -> list[str]:
        return [url for url in self.requests if url.endswith("/api/predict")]

    def corrections(self) -> list[str]:
        return [url for url in self.requests if url.endswith("/api/correct")]

    def foreign(self, origin: str) -> list[str]:
        """Requests that left `origin` (data: URLs are the page's own previews)."""
        return [url for url in self.requests if not url.startswith((origin + "/", "data:"))]


class Pad:
    """Drives the drawing pad like a person with a mouse, and reads back what the page shows."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.canvas = page.get_by_test_id("canvas")
        self.expected_seq = 0  # predictions the page should have asked for: the latest one's number

    def side(self) -> float:
        box = self.canvas.bounding_box()
        assert box is not None, "the canvas is not displayed"
        return box["width"]

    def draw(self, strokes: Sequence[Sequence[Point]]) -> None:
        """Draw strokes given in CSS pixels from the canvas's top-left corner; each one ends a stroke."""
        box = self.canvas.bounding_box()
        assert box is not None, "the canvas is not displayed"
        mouse = self.page.mouse
        for (x0, y0), *rest in strokes:
            mouse.move(box["x"] + x0, box["y"] + y0)
            mouse.down()
            for x, y in rest:
                mouse.move(box["x"] + x, box["y"] + y)
            mouse.up()
            self.expected_seq += 1

    def stroke_count(self) -> int:
        return int(self.canvas.get_attribute("data-strokes") or 0)

    def pixels(self) -> str:
        """The visible canvas as a PNG data URL: equal strings mean identical pixels."""
        return self.canvas.evaluate("canvas => canvas.toDataURL()")

    def ink(self) -> int:
        """How many canvas pixels carry any ink."""
        return self.canvas.evaluate(
            """canvas => {
                const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
                let inked = 0;
                for (let i = 3; i < data.length; i += 4) inked += data[i] > 0;
                return inked;
            }"""
        )

    def wait_for_answer(self, seq: int | None = None) -> dict[str, Any]:
        """Wait until the outcome of request `seq` (default: the latest) is on screen; return what it shows."""
        handle = self.page.wait_for_function(
            """seq => {
                const status = document.querySelector('[data-testid=status]');
                if (status.dataset.seq !== String(seq)) return false;
                const text = (id) => document.querySelector(`[data-testid=${id}]`).textContent;
                return {
                    answer: text('answer'), state: status.dataset.state, status: status.textContent,
                    latencyMs: status.dataset.latencyMs === undefined ? null : Number(status.dataset.latencyMs),
                };
            }""",
            arg=self.expected_seq if seq is None else seq,
            timeout=15_000,
        )
        return handle.json_value()


@dataclass
class OpenedPage:
    page: Page
    log: PageLog
    pad: Pad


@pytest.fixture()
def open_page(browser: Browser, server: Server) -> Iterator[Callable[..., OpenedPage]]:
    """Factory: a fresh context (options as for browser.new_context) on one of the app's pages
    (`path`, default the main page), watched."""
    contexts: list[BrowserContext] = []

    def open_(path: str = "/", **context_options: Any) -> OpenedPage:
        context = browser.new_context(**context_options)
        contexts.append(context)
        page = context.new_page()
        log = PageLog()
        page.on("console", lambda message: message.type == "error" and log.errors.append(message.text))
        page.on("pageerror", lambda error: log.errors.append(f"uncaught: {error}"))
        page.on("request", lambda request: log.requests.append(request.url))
        page.goto(server.origin + path)
        return OpenedPage(page, log, Pad(page))

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture()
def desktop(open_page: Callable[..., OpenedPage]) -> OpenedPage:
    return open_page(viewport={"width": 1280, "height": 900})


@pytest.fixture()
def pad(desktop: OpenedPage) -> Pad:
    return desktop.pad


@pytest.fixture(scope="module")
def held(pen_digits) -> list[PenDigit]:
    """Drawings of writers never used in training."""
    return held_out(pen_digits)


def canned(model: type[BaseModel], body: dict[str, Any]) -> dict[str, Any]:
    """A canned answer for route.fulfill, checked against the API's own response model (app.web.schemas), so
    what the page is tested on cannot drift from what the API answers."""
    model.model_validate(body)
    return body
