"""A phone: real touch input (CDP touch events, not synthetic DOM events) draws and never scrolls."""

from __future__ import annotations

PHONE = {
    "viewport": {"width": 375, "height": 667},
    "device_scale_factor": 2,
    "has_touch": True,
    "is_mobile": True,
}


def swipe(cdp, points):
    """One finger: down at the first point, through the rest, then lifted."""
    (x, y), *rest = points
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for x, y in rest:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def upward(x, bottom, top, steps=8):
    """A finger moving up: on a scrollable page this is the gesture that scrolls down."""
    return [(x, bottom - (bottom - top) * i / steps) for i in range(steps + 1)]


def test_touch_draws_on_a_phone_without_scrolling_the_page(open_page):
    phone = open_page(**PHONE)
    page, pad = phone.page, phone.pad
    sizes = page.get_by_test_id("canvas").evaluate(
        "c => ({ css: c.getBoundingClientRect().width, backing: c.width, dpr: devicePixelRatio })"
    )
    assert sizes["css"] >= 280
    assert sizes["backing"] == round(sizes["css"] * sizes["dpr"]), "the canvas is not sharp on this screen"
    assert page.evaluate("document.documentElement.scrollHeight > innerHeight"), "page cannot scroll: test is moot"

    cdp = page.context.new_cdp_session(page)
    box = page.get_by_test_id("canvas").bounding_box()
    centre = box["x"] + box["width"] / 2
    swipe(cdp, upward(centre, box["y"] + box["height"] * 0.9, box["y"] + box["height"] * 0.1))
    pad.expected_seq += 1  # lifting the finger asks for a prediction

    assert pad.stroke_count() == 1
    assert pad.ink() > 0
    assert pad.wait_for_answer()["state"] in {"recognised", "unrecognised", "not-a-digit"}
    assert page.evaluate("scrollY") == 0  # checked after the answer: any scroll would have happened by now

    # The same gesture outside the canvas does scroll: the input above could have scrolled the page.
    header = page.locator("header").bounding_box()
    swipe(cdp, upward(centre, header["y"] + header["height"], header["y"]))
    page.wait_for_function("scrollY > 0")
