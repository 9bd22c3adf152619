"""The number page: write several digits with the mouse (or a finger), see each one boxed and read, correct
the number and find every digit stored. Served by this module's own fresh app (`site`), which learns."""

from __future__ import annotations

import numpy as np
import pytest

from app.offline import pendigits
from tests.browser.test_touch import PHONE, swipe

WAIT_MS = 30_000  # a correction runs a guarded learning step per digit; the machine may be busy


@pytest.fixture(scope="module")
def server(site):
    return site.server


@pytest.fixture(scope="module")
def number(held) -> tuple[str, list[pendigits.Stroke]]:
    """The first held-out 8, 0 and 3 side by side, in pixels of the 840×280 image the page sends."""
    digits = [next(d for d in held if d.label == label) for label in (8, 0, 3)]
    composed = pendigits.compose_number(digits, np.random.default_rng(1), (0.3, 0.5))
    return "".join(str(d.label) for d in digits), [s for digit in composed for s in digit]


def wait_for_reading(page, strokes: int) -> dict:
    """Once the reading of a `strokes`-stroke drawing is on screen: the status, number and boxes shown."""
    page.wait_for_function(
        """strokes => {
            const status = document.querySelector('[data-testid=status]');
            return document.querySelector('[data-testid=canvas]').dataset.strokes === String(strokes)
                && ['recognised', 'unrecognised'].includes(status.dataset.state);
        }""", arg=strokes, timeout=WAIT_MS)
    return page.evaluate("""() => ({
        state: document.querySelector('[data-testid=status]').dataset.state,
        number: document.querySelector('[data-testid=number]').textContent,
        boxes: Number(document.querySelector('[data-testid=overlay]').dataset.boxes),
        digits: [...document.querySelectorAll('[data-testid=digit]')].map((d) => ({
            answer: d.dataset.answer, box: d.dataset.box.split(',').map(Number),
            top3: d.querySelector('.digit__top3').textContent, preview: d.querySelector('img').naturalWidth })),
        field: document.querySelector('[data-testid=correction]').value,
    })""")


def test_write_a_number_see_it_read_and_boxed_correct_it_and_find_every_digit_stored(open_page, site, number):
    text, strokes = number
    opened = open_page("/number", viewport={"width": 1280, "height": 900})
    page, pad = opened.page, opened.pad
    box = pad.canvas.bounding_box()
    assert box["width"] == pytest.approx(3 * box["height"], rel=0.02)  # a wide pad
    scale = box["width"] / 840
    pad.draw([[(x * scale, y * scale) for x, y in stroke] for stroke in strokes])

    shown = wait_for_reading(page, len(strokes))
    assert shown["state"] == "recognised" and shown["number"] == text and shown["field"] == text
    assert shown["boxes"] == len(text) == len(shown["digits"])
    assert [d["answer"] for d in shown["digits"]] == list(text)
    lefts = [d["box"][0] for d in shown["digits"]]
    assert lefts == sorted(lefts) and all(d["preview"] == 28 and "%" in d["top3"] for d in shown["digits"])

    before = {sample["id"] for sample in site.samples()}
    page.get_by_test_id("consent").check()
    page.get_by_test_id("correction").fill("805")  # the 3 was meant as a 5
    page.get_by_test_id("send").click()
    page.wait_for_function("() => document.querySelector('[data-testid=teach]').dataset.state === 'saved'",
                           timeout=WAIT_MS)
    assert "Saved 3 digits" in page.get_by_test_id("saved").text_content()
    new = [sample for sample in site.samples() if sample["id"] not in before]
    assert sorted((s["label"], s["predicted"], s["source"], s["consent"]) for s in new) == [
        (0, 0, "number", True), (5, 3, "number", True), (8, 8, "number", True)]
    assert all(s["status"] in {"learned", "quarantined"} and s["strokes"] for s in new)
    assert opened.log.errors == [] and opened.log.foreign(site.server.origin) == []


def test_a_count_that_differs_keeps_the_whole_drawing(open_page, site, number):
    text, strokes = number
    opened = open_page("/number", viewport={"width": 1280, "height": 900})
    page, pad = opened.page, opened.pad
    scale = pad.canvas.bounding_box()["width"] / 840
    pad.draw([[(x * scale, y * scale) for x, y in stroke] for stroke in strokes])
    wait_for_reading(page, len(strokes))
    kept = len(list(site.store().numbers()))
    page.get_by_test_id("correction").fill(text + "1")
    page.get_by_test_id("send").click()
    page.wait_for_function("() => document.querySelector('[data-testid=teach]').dataset.state === 'saved'",
                           timeout=WAIT_MS)
    assert page.get_by_test_id("saved").get_attribute("data-segmented") == "false"
    assert [meta["label"] for meta in site.store().numbers()][kept:] == [text + "1"]

    page.get_by_test_id("undo").click()  # the pad's own undo: one stroke fewer, read again
    after = wait_for_reading(page, len(strokes) - 1)
    assert after["boxes"] >= 1 and page.get_by_test_id("teach").get_attribute("data-state") == "idle"
    page.keyboard.press("Escape")
    page.wait_for_function("() => document.querySelector('[data-testid=status]').dataset.state === 'empty'")
    assert page.get_by_test_id("overlay").get_attribute("data-boxes") == "0"
    assert opened.log.errors == []


def test_touch_writes_on_the_wide_pad_without_scrolling_the_page(open_page):
    phone = open_page("/number", **PHONE)
    page, pad = phone.page, phone.pad
    sizes = page.get_by_test_id("canvas").evaluate(
        "c => ({ w: c.getBoundingClientRect().width, h: c.getBoundingClientRect().height, bw: c.width, bh: c.height,"
        " dpr: devicePixelRatio })")
    assert (sizes["bw"], sizes["bh"]) == (round(sizes["w"] * sizes["dpr"]), round(sizes["h"] * sizes["dpr"]))
    assert page.evaluate("document.documentElement.scrollHeight > innerHeight"), "page cannot scroll: test is moot"

    cdp = page.context.new_cdp_session(page)
    box = page.get_by_test_id("canvas").bounding_box()
    x = box["x"] + box["width"] * 0.3
    steps = [(x, box["y"] + box["height"] * (0.9 - 0.8 * i / 8)) for i in range(9)]  # a finger moving up: a 1
    swipe(cdp, steps)
    assert pad.stroke_count() == 1 and pad.ink() > 0
    assert wait_for_reading(page, 1)["boxes"] == 1
    assert page.evaluate("scrollY") == 0
