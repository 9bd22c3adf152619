"""Collection mode at /collect: the page asks for digits in a balanced order and stores what is drawn.

Every page here talks to this module's own fresh app (`site`), so each test can read exactly which
samples were stored and what the tally should say.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from playwright.sync_api import expect

from app.offline.pendigits import data_url, fit_to_canvas, render
from app.web.schemas import Error
from tests.browser.conftest import canned

WAIT_MS = 30_000  # a save runs a guarded learning step; the machine may be busy


@pytest.fixture(scope="module")
def server(site):
    """Every page in this module is served by the module's fresh app."""
    return site.server


def open_collect(open_page, width: int = 1280):
    opened = open_page("/collect", viewport={"width": width, "height": 800})
    expect(opened.page.get_by_test_id("prompt")).to_have_attribute("data-digit", re.compile(r"^[0-9]$"))
    return opened


def asked(page) -> int:
    return int(page.get_by_test_id("prompt").get_attribute("data-digit"))


def stored_per_label(site) -> Counter:
    return Counter(sample["label"] for sample in site.samples())


@pytest.mark.parametrize("width", [375, 1280])
def test_save_stores_the_asked_digit_and_asks_for_another(open_page, site, held, build_dir, width):
    opened = open_collect(open_page, width)
    page, pad = opened.page, opened.pad
    digit = asked(page)
    assert page.get_by_test_id("prompt").text_content() == f"Please draw {'an' if digit == 8 else 'a'} {digit}"
    count = page.get_by_test_id(f"count-{digit}")
    already = stored_per_label(site)[digit]
    expect(count).to_have_text(str(already))  # the tally is the store's
    before = {sample["id"] for sample in site.samples()}
    expect(page.get_by_test_id("save")).to_be_disabled()  # nothing drawn yet

    writing = next(d for d in held if d.label == digit)
    pad.draw(fit_to_canvas(writing.strokes, pad.side()))
    page.get_by_test_id("save").click()
    expect(count).to_have_text(str(already + 1), timeout=WAIT_MS)
    expect(page.get_by_test_id("message")).to_have_text(f"Saved your {digit} — thanks!")

    [sample] = [s for s in site.samples() if s["id"] not in before]
    assert (sample["label"], sample["source"], sample["predicted"]) == (digit, "collection", None)
    assert sample["consent"] is False
    assert len(sample["strokes"]) == len(writing.strokes)
    assert asked(page) != digit  # the next digit is asked for on a clean pad
    assert pad.stroke_count() == 0
    expect(page.get_by_test_id("save")).to_be_disabled()
    page.screenshot(path=build_dir / f"collect-{width}.png", full_page=True)

    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert opened.log.errors == []
    assert opened.log.foreign(site.server.origin) == []


def test_skip_asks_for_another_digit_and_stores_nothing(open_page, site):
    opened = open_collect(open_page)
    page = opened.page
    before = site.samples()
    first = asked(page)
    opened.pad.draw([[(100.0, 60.0), (100.0, 300.0)]])
    page.get_by_test_id("skip").click()
    expect(page.get_by_test_id("prompt")).not_to_have_attribute("data-digit", str(first))
    assert opened.pad.stroke_count() == 0  # what was drawn for the skipped digit is gone
    assert opened.log.corrections() == []
    assert site.samples() == before


def test_each_round_asks_for_all_ten_digits_least_collected_first(open_page, site, held):
    # Make the counts uneven: two more 5s and one more 2 than anything else has.
    client = site.app.test_client()
    for label in (5, 5, 2):
        writing = next(d for d in held if d.label == label)
        image = data_url(render(fit_to_canvas(writing.strokes)))
        response = client.post("/api/correct", json={"image": image, "label": label, "source": "collection"})
        assert response.status_code == 200
    counts = stored_per_label(site)

    opened = open_collect(open_page)
    page = opened.page
    seen = [asked(page)]
    for _ in range(10):
        page.get_by_test_id("skip").click()
        expect(page.get_by_test_id("prompt")).not_to_have_attribute("data-digit", str(seen[-1]))
        seen.append(asked(page))

    first_round = seen[:10]
    assert sorted(first_round) == list(range(10))
    assert [counts[d] for d in first_round] == sorted(counts[d] for d in first_round), (first_round, counts)
    assert seen[10] != seen[9]  # a new round never starts with the digit just asked for
    expect(page.get_by_test_id("count-5")).to_have_text(str(counts[5]))
    expect(page.locator(".tally__item[aria-current=true]")).to_have_attribute("data-digit", str(seen[10]))


def test_an_error_keeps_the_drawing_and_the_digit(open_page, site):
    opened = open_collect(open_page)
    page = opened.page
    message = "Too many requests; wait a minute."
    page.route("**/api/correct", lambda route: route.fulfill(
        status=429, json=canned(Error, {"error": {"code": "rate_limited", "message": message}})))
    digit = asked(page)
    opened.pad.draw([[(100.0, 60.0), (100.0, 300.0)]])
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("message")).to_have_text(message)
    expect(page.get_by_test_id("message")).to_have_attribute("data-state", "error")
    expect(page.get_by_test_id("save")).to_be_enabled()  # so it can be sent again
    assert asked(page) == digit
    assert opened.pad.stroke_count() == 1
