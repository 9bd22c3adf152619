"""The page at a phone's and a desktop's width, with an answer on screen and the CSP a later issue adds.

Screenshots go to build/ for a person to look at; the assertions are what must hold at any width.
"""

from __future__ import annotations

import pytest

from app.offline.pendigits import fit_to_canvas
from app.reading.ensemble import MODEL_NAMES

# The policy the production headers will carry; `data:` images are the API's 28×28 preview.
CSP = "default-src 'self'; img-src 'self' data:"


def serve_with_csp(route):
    response = route.fetch()
    route.fulfill(response=response, headers={**response.headers, "content-security-policy": CSP})


@pytest.mark.parametrize("width", [375, 1280])
def test_page_fits_the_screen_and_stays_on_its_origin(open_page, server, pen_digits, build_dir, width):
    opened = open_page(viewport={"width": width, "height": 800})
    page, pad = opened.page, opened.pad
    page.route(server.origin + "/", serve_with_csp)
    page.reload()

    pad.draw(fit_to_canvas(pen_digits[0].strokes, pad.side()))
    assert pad.wait_for_answer()["state"] in {"recognised", "unrecognised", "not-a-digit"}
    page.screenshot(path=build_dir / f"page-{width}.png", full_page=True)

    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    box = page.get_by_test_id("canvas").bounding_box()
    assert box["width"] == box["height"] >= 280
    for testid in ("clear", "undo", "predict", "answer", "confidence", "preview", "status"):
        assert page.get_by_test_id(testid).count() == 1, testid
    for name in MODEL_NAMES:
        assert page.get_by_test_id(f"model-{name}").locator("li").count() == 3, name
    assert opened.log.errors == []
    foreign = [url for url in opened.log.requests if not url.startswith((server.origin + "/", "data:"))]
    assert foreign == []
