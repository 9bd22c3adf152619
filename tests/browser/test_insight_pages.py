"""The "show the learning" pages in Chromium, on real data: samples are stored through POST
/api/correct with online learning on, then every page is opened at a phone's and a desktop's width.

Each page must render its data, log no console error (the app's strict CSP turns any inline script,
style attribute or handler into one), request nothing from another host, and fit the screen.
Screenshots go to build/; with DIGITDRAW_DOCS_SCREENSHOTS=1 one per page also goes to docs/
(small PNGs for the README; off by default so test runs do not rewrite tracked files).
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from PIL import Image

from app.config import ROOT
from app.offline import pendigits
from tests.browser.conftest import Server, serving

TOKEN = "browser-admin-token"
DOCS = ROOT / "docs"
DOCS_LIMIT = 150 * 1024


@dataclass
class Insight:
    server: Server
    samples: list[dict[str, Any]]  # what was sent, with the stored id
    app: Flask  # the app it serves: its online nets learned from the samples

    def first(self, **match: Any) -> dict[str, Any]:
        return next(s for s in self.samples if all(s[k] == v for k, v in match.items()))


def _pick(client, pen_digits) -> list[tuple[pendigits.PenDigit, str, int | None]]:
    """Twelve held-out drawings as a person's session might go: three the nets misread (corrected),
    nine they read right (confirmed or collected); each with the answer the page showed."""
    wrong, right = [], []
    for digit, image in pendigits.canvas_drawings(pendigits.held_out(pen_digits)):
        url = pendigits.data_url(image)
        answer = client.post("/api/predict", json={"image": url}).get_json()["answer"]
        (right if answer == digit.label else wrong).append((digit, url, answer))
        if len(wrong) >= 3 and len(right) >= 9:
            break
    return [*right[:2], wrong[0], *right[2:5], wrong[1], *right[5:8], wrong[2], right[8]]


@pytest.fixture(scope="module")
def insight(make_app, pen_digits) -> Iterator[Insight]:
    """A fresh app with learning on and an admin token; 12 drawings stored the way the page stores them."""
    app = make_app(ADMIN_TOKEN=TOKEN, LEARNING=True)
    client = app.test_client()
    sent = []
    for i, (digit, url, answer) in enumerate(_pick(client, pen_digits)):
        strokes = [[[round(x / 500, 4), round(y / 500, 4), 20 * j + 400 * k] for j, (x, y) in enumerate(stroke)]
                   for k, stroke in enumerate(digit.strokes)]
        body: dict[str, Any] = {"image": url, "label": digit.label, "strokes": strokes, "consent": i != 5}
        if answer != digit.label:
            kind = "correction"
            body["predicted"] = answer
        elif i % 2:
            kind = "confirmation"
            body["predicted"] = answer
        else:
            kind = "collection"
            body["source"] = "collection"
        reply = client.post("/api/correct", json=body)
        assert reply.status_code == 200, reply.get_data(as_text=True)
        sent.append({**body, "id": reply.get_json()["sample_id"], "kind": kind})
    with serving(app) as served:
        yield Insight(served, sent, app)


@pytest.fixture(scope="module")
def server(insight: Insight) -> Server:
    """open_page (tests/browser/conftest.py) serves this module's app."""
    return insight.server


def overflows_horizontally(page) -> bool:
    """Whether the page is wider than the viewport (a phone would scroll sideways)."""
    return page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")


def _ready(page, state_selector: str = "[data-testid=status]", state: str = "ready") -> None:
    page.wait_for_function(
        "([selector, state]) => document.querySelector(selector)?.dataset.state === state",
        arg=[state_selector, state],
        timeout=15_000,
    )


def _images_loaded(page) -> None:
    page.wait_for_function("() => Array.from(document.images).every((img) => img.complete && img.naturalWidth > 0)",
                           timeout=15_000)


def _clean(opened, server: Server) -> None:
    """No console errors, nothing fetched from elsewhere, nothing the CSP forbids in the DOM."""
    assert opened.log.errors == []
    assert opened.log.foreign(server.origin) == []
    page = opened.page
    # (Chromium itself gives password fields an empty style attribute)
    assert page.evaluate("""Array.from(document.querySelectorAll('[style]:not([style=""])'))
        .map((n) => n.outerHTML.slice(0, 200))""") == []
    assert page.evaluate("""Array.from(document.querySelectorAll('*'))
        .flatMap((node) => Array.from(node.attributes).map((a) => a.name))
        .filter((name) => name.startsWith('on')).length""") == 0
    assert page.evaluate("Array.from(document.scripts).every((script) => script.src)")


def _screenshots(page, build_dir, name: str, width: int) -> None:
    """A full-page shot per width for review (and the README's at 1280 px); the page must not overflow."""
    page.screenshot(path=build_dir / f"insight-{name}-{width}.png", full_page=True)
    assert not overflows_horizontally(page)
    if width == 1280:
        _docs_screenshot(page, name)


def _docs_screenshot(page, name: str) -> None:
    """A small PNG of the page's first screen for the README (palette PNG, under 150 KB)."""
    if os.environ.get("DIGITDRAW_DOCS_SCREENSHOTS") != "1":
        return
    shot = Image.open(io.BytesIO(page.screenshot(full_page=False))).convert("RGB")
    for colours in (128, 64, 32):
        buffer = io.BytesIO()
        shot.quantize(colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            buffer, format="PNG", optimize=True)
        if buffer.tell() < DOCS_LIMIT:
            break
    assert buffer.tell() < DOCS_LIMIT, f"{name}: {buffer.tell()} bytes"
    (DOCS / f"{name}.png").write_bytes(buffer.getvalue())


def _open(open_page, path: str, width: int):
    return open_page(path, viewport={"width": width, "height": 800})


WIDTHS = [375, 1280]


@pytest.mark.parametrize("width", WIDTHS)
def test_stats_page(open_page, insight, build_dir, width):
    opened = _open(open_page, "/stats", width)
    page = opened.page
    _ready(page)
    assert page.get_by_test_id("total-samples").text_content() == str(len(insight.samples))
    assert page.get_by_test_id("total-consented").text_content() == str(sum(s["consent"] for s in insight.samples))
    chart = page.get_by_test_id("chart-prequential")
    assert chart.locator("[data-series]").count() == 5  # four nets and the answer shown
    assert chart.locator("path.chart__line").first.get_attribute("d").count("L") >= len(insight.samples) - 1
    assert page.get_by_test_id("table-prequential").locator("tbody tr").count() == 5
    assert page.get_by_test_id("chart-days").locator(".chart__bar").count() == 1
    assert page.get_by_test_id("chart-digits").locator(".chart__bar").count() == 10
    confusion = page.get_by_test_id("confusion")
    assert confusion.locator("tbody tr").count() == 10
    cells = confusion.locator("td").evaluate_all("cells => cells.map((c) => Number(c.dataset.count))")
    assert sum(cells) == len(insight.samples)
    learned = int(page.get_by_test_id("total-learned").text_content())
    assert learned >= 1 and page.get_by_test_id("version-current").text_content() == str(learned)
    assert page.get_by_test_id("chart-versions").locator("circle").count() >= 2  # shipped + each version
    _screenshots(page, build_dir, "stats", width)
    _clean(opened, insight.server)


@pytest.mark.parametrize("width", WIDTHS)
def test_dataset_page_filters_and_pages(open_page, insight, build_dir, width):
    opened = _open(open_page, "/dataset", width)
    page = opened.page
    _ready(page)
    _images_loaded(page)
    shared = [s for s in insight.samples if s["consent"]]
    cells = page.get_by_test_id("sample")
    assert cells.count() == len(shared)
    assert cells.evaluate_all("cells => cells.map((c) => c.dataset.id)") == [s["id"] for s in shared][::-1]
    _screenshots(page, build_dir, "dataset", width)

    page.get_by_test_id("filter-source").select_option("correction")
    page.get_by_test_id("filter-misread").select_option("true")
    page.wait_for_url("**/dataset?misread=true&source=correction")
    _ready(page)
    corrections = [s["id"] for s in shared if s["kind"] == "correction"][::-1]
    assert cells.evaluate_all("cells => cells.map((c) => c.dataset.id)") == corrections
    assert cells.locator(".tag--misread").count() == len(corrections)

    label = insight.samples[0]["label"]
    page.get_by_test_id("filter-source").select_option("")
    page.get_by_test_id("filter-misread").select_option("")
    page.get_by_test_id("filter-label").select_option(str(label))
    _ready(page)
    assert page.url.endswith(f"/dataset?label={label}")
    assert cells.count() == sum(s["label"] == label for s in shared)
    page.go_back()  # the filters live in the address, so Back restores the previous view
    page.wait_for_url("**/dataset")
    _ready(page)
    assert cells.count() == len(shared)

    cells.first.locator("a").click()
    page.wait_for_url(f"**/dataset/{shared[-1]['id']}")
    _ready(page)
    _clean(opened, insight.server)


def test_a_bad_filter_in_the_address_is_explained(open_page, insight):
    opened = _open(open_page, "/dataset?label=12", 1280)
    _ready(opened.page, state="error")
    assert "digit from 0 to 9" in opened.page.get_by_test_id("status").text_content()
    assert opened.page.get_by_test_id("sample").count() == 0
    opened.log.errors.clear()  # the browser logs the 400 itself; that is the point of this test
    assert opened.log.foreign(insight.server.origin) == []


def test_a_page_past_the_end_says_how_many_there_are(open_page, insight):
    opened = _open(open_page, "/dataset?page=2", 375)
    _ready(opened.page, state="empty")
    assert opened.page.get_by_test_id("status").text_content() == "There is no page 2: 1 page in all."
    assert opened.page.get_by_test_id("pager").is_hidden()
    _clean(opened, insight.server)


@pytest.mark.parametrize("width", WIDTHS)
def test_sample_page_shows_the_drawing_and_replays_its_strokes(open_page, insight, build_dir, width):
    sample = insight.first(kind="correction", consent=True)
    opened = _open(open_page, f"/dataset/{sample['id']}", width)
    page = opened.page
    _ready(page)
    _images_loaded(page)
    assert page.get_by_test_id("meta-label").text_content() == str(sample["label"])
    shown = "not recognised" if sample["predicted"] is None else str(sample["predicted"])
    assert page.get_by_test_id("meta-shown").text_content() == shown
    assert page.get_by_test_id("readings").locator("tbody tr").count() == 4
    assert page.get_by_test_id("preview").evaluate("img => img.naturalWidth") == 28
    replay = page.get_by_test_id("replay")
    page.wait_for_function("() => document.querySelector('[data-testid=replay]').dataset.state === 'done'",
                           timeout=15_000)
    ink = replay.evaluate("""canvas => {
        const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
        let inked = 0;
        for (let i = 3; i < data.length; i += 4) inked += data[i] > 0;
        return inked;
    }""")
    assert ink > 500
    _screenshots(page, build_dir, "sample", width)
    page.get_by_test_id("replay-button").click()
    assert replay.get_attribute("data-state") in {"playing", "done"}
    _clean(opened, insight.server)


def test_an_unknown_sample_gets_a_page_that_says_so(open_page, insight):
    opened = _open(open_page, "/dataset/20000101T000000000000Z-00000000", 375)
    assert "no drawing" in opened.page.get_by_test_id("status").text_content()
    assert not overflows_horizontally(opened.page)
    opened.log.errors.clear()  # the 404 of the document itself
    assert opened.log.foreign(insight.server.origin) == []


@pytest.mark.parametrize("width", WIDTHS)
def test_models_page(open_page, insight, build_dir, width):
    opened = _open(open_page, "/models", width)
    page = opened.page
    _ready(page)
    assert page.get_by_test_id("params-fnn").text_content() == "79,510"
    assert page.get_by_test_id("params-cnn").text_content() == "995,381"
    assert page.get_by_test_id("net-cnn").locator("li").count() == 11
    assert page.get_by_test_id("card-accuracy").locator("tbody tr").count() == 2
    drawn = json.loads((ROOT / "models" / "card.json").read_text())["accuracy"]["pendigits_held_out_writers"]
    row = page.get_by_test_id("card-accuracy").locator("tbody tr").nth(1).inner_text()
    assert "6 writers never seen" in row and f"{100 * drawn['with_strokes']:.2f} %" in row
    assert f"{100 * drawn['ensemble']:.2f} %" in row
    for chart in ("chart-val-accuracy", "chart-loss"):
        assert page.get_by_test_id(chart).locator("path.chart__line").count() == 2
    _screenshots(page, build_dir, "models", width)
    _clean(opened, insight.server)


@pytest.mark.parametrize("width", WIDTHS)
def test_internals_page_shows_how_the_nets_see_a_drawing(open_page, insight, pen_digits, build_dir, width):
    opened = _open(open_page, "/internals", width)
    page, pad = opened.page, opened.pad
    client = insight.app.test_client()  # its online nets learned from the stored drawings
    # a 4 drawn in one stroke (the page reads after every stroke: the answer checked is the whole drawing's) that
    # those nets read as a 4 from its picture, as this page reads it
    fours = [(d, image) for d, image in pendigits.canvas_drawings(pendigits.held_out(pen_digits))
             if d.label == 4 and len(d.strokes) == 1]
    digit = next(d for d, image in fours
                 if client.post("/api/predict", json={"image": pendigits.data_url(image)}).get_json()["answer"] == 4)
    pad.draw(pendigits.fit_to_canvas(digit.strokes, pad.side()))
    _ready(page, "[data-testid=internals-page]", "shown")
    _images_loaded(page)
    assert page.get_by_test_id("feature-map").count() == 16
    assert page.get_by_test_id("unit").count() == 8
    assert page.get_by_test_id("answer").text_content() == "4"
    _screenshots(page, build_dir, "internals", width)

    page.get_by_test_id("clear").click()
    assert page.get_by_test_id("feature-map").count() == 0
    assert page.get_by_test_id("internals-page").get_attribute("data-state") == "empty"
    _clean(opened, insight.server)


def test_internals_can_start_from_a_stored_drawing(open_page, insight):
    sample = insight.first(kind="confirmation", consent=True)
    opened = _open(open_page, f"/internals?sample={sample['id']}", 1280)
    page = opened.page
    _ready(page, "[data-testid=internals-page]", "shown")
    assert int(page.get_by_test_id("canvas").get_attribute("data-strokes")) == len(sample["strokes"])
    assert page.get_by_test_id("feature-map").count() == 16
    _clean(opened, insight.server)


@pytest.mark.parametrize("width", WIDTHS)
def test_about_page(open_page, insight, build_dir, width):
    opened = _open(open_page, "/about", width)
    page = opened.page
    _ready(page, "[data-testid=live]")
    assert f"So far {len(insight.samples)} drawings" in page.get_by_test_id("live").text_content()
    _screenshots(page, build_dir, "about", width)
    _clean(opened, insight.server)


def test_the_admin_sees_unshared_drawings_and_can_delete_one(open_page, insight):
    private = insight.first(consent=False)
    opened = _open(open_page, "/dataset", 1280)
    page = opened.page
    _ready(page)
    assert page.locator(f"[data-id='{private['id']}']").count() == 0
    page.get_by_test_id("admin").locator("summary").click()
    page.get_by_test_id("admin-token").fill(TOKEN)
    page.get_by_test_id("admin-token").press("Enter")
    page.wait_for_function(f"() => document.querySelectorAll('[data-testid=sample]').length === {len(insight.samples)}")
    _images_loaded(page)  # the unshared one arrives as a data URL fetched with the token
    cell = page.locator(f"[data-id='{private['id']}']")
    assert cell.locator(".tag--private").count() == 1

    cell.locator("a").click()
    page.wait_for_url(f"**/dataset/{private['id']}")
    _ready(page)
    page.get_by_test_id("delete").click()
    page.get_by_test_id("delete-confirm").click()
    _ready(page, state="deleted")
    assert "was deleted" in page.get_by_test_id("delete-result").text_content()
    assert page.request.get(f"{insight.server.origin}/api/samples/{private['id']}",
                            headers={"Authorization": f"Bearer {TOKEN}"}).status == 404
    insight.samples.remove(private)
    # a private drawing's page is served as a missing one's (404); the admin's token loads it anyway
    assert opened.log.errors == ["Failed to load resource: the server responded with a status of 404 (NOT FOUND)"]
    opened.log.errors.clear()
    _clean(opened, insight.server)


def test_docs_screenshots_are_small(insight):
    """The README's screenshots stay light (checked whenever they exist)."""
    for name in ("stats", "dataset", "sample", "models", "internals", "about"):
        path: Path = DOCS / f"{name}.png"
        if path.exists():
            assert path.stat().st_size < DOCS_LIMIT, path
