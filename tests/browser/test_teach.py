"""Teaching from the main page: Right / Wrong after an answer, the digit picker, consent, and what was stored.

Every page here talks to this module's own fresh app (`site`), so each test can read exactly which
samples its clicks stored, and the online nets really learn.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from playwright.sync_api import expect

from app.offline.pendigits import PenDigit, data_url, fit_to_canvas, render
from app.reading.ensemble import MODEL_NAMES
from app.reading.imaging import to_data_url
from app.web.schemas import CorrectResponse, Error, Health, Prediction
from tests.browser.conftest import canned

WAIT_MS = 30_000  # a correction runs a guarded learning step; the machine may be busy
ONLINE = ("fnn_online", "cnn_online")
SHIPPED = ("fnn", "cnn")


@pytest.fixture(scope="module")
def server(site):
    """Every page in this module is served by the module's fresh app."""
    return site.server


def new_samples(site, before: set[str]) -> list[dict]:
    return [sample for sample in site.samples() if sample["id"] not in before]


def stored_ids(site) -> set[str]:
    return {sample["id"] for sample in site.samples()}


def draw(desktop, digit: PenDigit) -> dict:
    """Clear the pad, replay `digit` with the mouse and return the answer shown for it."""
    desktop.page.keyboard.press("Escape")
    desktop.pad.draw(fit_to_canvas(digit.strokes, desktop.pad.side()))
    return desktop.pad.wait_for_answer()


def draw_one_read_right(desktop, held: list[PenDigit]) -> tuple[PenDigit, dict]:
    for digit in held[:20]:
        shown = draw(desktop, digit)
        if shown["answer"] == str(digit.label):
            return digit, shown
    raise AssertionError("none of the first 20 held-out digits was read right")


def misreads(site, held: list[PenDigit], count: int) -> list[PenDigit]:
    """The first `count` held-out digits the nets misread from the picture, asked of the app directly (predicting
    changes nothing). The page sends the strokes too, which it reads nearly all of right: the caller copes."""
    client = site.app.test_client()
    found = []
    for digit in held:
        body = client.post("/api/predict", json={"image": data_url(render(fit_to_canvas(digit.strokes)))}).get_json()
        if body["answer"] != digit.label:
            found.append(digit)
            if len(found) == count:
                return found
    raise AssertionError(f"fewer than {count} of the {len(held)} held-out digits are misread")


def block_state(page, name: str) -> dict:
    block = page.get_by_test_id(f"model-{name}")
    return {
        "bars": block.locator("ol").inner_text(),
        "version": page.get_by_test_id(f"version-{name}").text_content(),
        "updated": "updated" in (block.get_attribute("class") or "").split(),
    }


def test_right_stores_one_confirmation_with_its_strokes(desktop, site, held):
    page = desktop.page
    teach = page.get_by_test_id("teach")
    expect(teach).to_have_attribute("data-state", "idle")
    expect(page.get_by_test_id("right")).to_be_hidden()

    digit, _ = draw_one_read_right(desktop, held)
    expect(teach).to_have_attribute("data-state", "asking")
    expect(page.get_by_test_id("right")).to_be_visible()
    expect(page.get_by_test_id("label-0")).to_be_hidden()  # the picker waits for Wrong
    before = stored_ids(site)

    page.get_by_test_id("right").click()
    expect(teach).to_have_attribute("data-state", "saved", timeout=WAIT_MS)

    [sample] = new_samples(site, before)
    assert (sample["label"], sample["predicted"], sample["source"]) == (digit.label, digit.label, "confirmation")
    assert sample["consent"] is False  # unticked unless the person ticks it
    assert len(sample["strokes"]) == desktop.pad.stroke_count() == len(digit.strokes)
    assert all(len(point) == 3 for stroke in sample["strokes"] for point in stroke)
    saved = page.get_by_test_id("saved").text_content()
    if sample["status"] == "learned":
        assert saved == f"Saved — thanks! The learning nets updated (version {sample['learned_version']})."
    else:
        assert saved == f"Saved; the learning nets did not change: {sample['reason']}."
    expect(page.get_by_test_id("right")).to_be_hidden()  # the same drawing is not offered twice
    assert desktop.log.errors == []


def test_wrong_opens_the_picker_and_stores_the_correction(desktop, site, held):
    """Real misreadings, corrected until one teaches the nets (the guard may refuse a step, and says why)."""
    page = desktop.page
    teach = page.get_by_test_id("teach")
    page.get_by_test_id("consent").check()
    outcomes = []
    for digit in misreads(site, held, 5):
        shown = int(draw(desktop, digit)["answer"])
        # A real misreading as a rule; should the page read it right after all, any other digit is a correction too.
        label = digit.label if shown != digit.label else (shown + 1) % 10
        before_blocks = {name: block_state(page, name) for name in MODEL_NAMES}
        before = stored_ids(site)

        page.get_by_test_id("wrong").click()
        expect(page.get_by_test_id("wrong")).to_have_attribute("aria-expanded", "true")
        for each in range(10):
            expect(page.get_by_test_id(f"label-{each}")).to_be_visible()
        expect(page.get_by_test_id(f"label-{shown}")).to_be_disabled()  # "wrong, it is what you said" makes no sense
        page.get_by_test_id(f"label-{label}").click()
        expect(teach).to_have_attribute("data-state", "saved", timeout=WAIT_MS)

        [sample] = new_samples(site, before)
        assert (sample["label"], sample["predicted"], sample["source"]) == (label, shown, "correction")
        assert sample["consent"] is True
        assert len(sample["strokes"]) == desktop.pad.stroke_count() == len(digit.strokes)

        # `after` is on screen: the learning nets' blocks show their new reading and version when they
        # learned, and nothing is marked when the guard kept them as they were.
        after_blocks = {name: block_state(page, name) for name in MODEL_NAMES}
        saved = page.get_by_test_id("saved").text_content()
        for name in SHIPPED:
            assert after_blocks[name] == before_blocks[name]
        outcomes.append(sample["reason"])
        if sample["status"] == "learned":
            assert saved == f"Saved — thanks! The learning nets updated (version {sample['learned_version']})."
            version = f"v{sample['learned_version']}"
            for name in ONLINE:
                assert after_blocks[name]["updated"], name
                assert after_blocks[name]["version"] == version != before_blocks[name]["version"], name
            assert any(after_blocks[name]["bars"] != before_blocks[name]["bars"] for name in ONLINE)
            break
        assert saved == f"Saved; the learning nets did not change: {sample['reason']}."
        assert after_blocks == before_blocks
    else:
        raise AssertionError(f"no correction taught the nets: {outcomes}")
    assert desktop.log.errors == []

    # The consent choice is remembered, on this page and on the collection page.
    page.reload()
    expect(page.get_by_test_id("consent")).to_be_checked()
    page.goto(site.server.origin + "/collect")
    expect(page.get_by_test_id("consent")).to_be_checked()


def test_a_double_click_on_right_stores_one_sample(desktop, site, held):
    page = desktop.page
    draw_one_read_right(desktop, held)
    before = stored_ids(site)

    page.get_by_test_id("right").dblclick()
    expect(page.get_by_test_id("teach")).to_have_attribute("data-state", "saved", timeout=WAIT_MS)
    # fetch() is called synchronously by a click, so one request seen after a later round trip
    # means no second one was sent.
    page.evaluate("fetch('/api/counts').then((r) => r.json())")
    assert len(desktop.log.corrections()) == 1
    assert len(new_samples(site, before)) == 1


def test_digit_keys_pick_a_label_only_while_the_picker_is_open(desktop, site, held):
    page = desktop.page
    digit, _ = draw_one_read_right(desktop, held)
    other = (digit.label + 1) % 10
    before = stored_ids(site)

    page.keyboard.press(str(other))  # picker closed: the key does nothing
    expect(page.get_by_test_id("teach")).to_have_attribute("data-state", "asking")
    page.get_by_test_id("wrong").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id(f"label-{other}")).to_be_visible()
    page.keyboard.press(str(other))
    expect(page.get_by_test_id("teach")).to_have_attribute("data-state", "saved", timeout=WAIT_MS)

    [sample] = new_samples(site, before)
    assert (sample["label"], sample["predicted"]) == (other, digit.label)
    expect(page.get_by_test_id("saved")).to_be_focused()  # keyboard users are not dropped at the top
    assert len(desktop.log.corrections()) == 1


def test_drawing_again_or_clearing_resets_the_panel(desktop, site, held):
    page = desktop.page
    teach = page.get_by_test_id("teach")
    draw_one_read_right(desktop, held)
    page.get_by_test_id("right").click()
    expect(teach).to_have_attribute("data-state", "saved", timeout=WAIT_MS)

    desktop.pad.draw([[(60.0, 60.0), (200.0, 200.0)]])  # one more stroke: a new drawing to judge
    expect(teach).to_have_attribute("data-state", "asking")
    expect(page.get_by_test_id("saved")).to_have_text("")

    page.get_by_test_id("clear").click()
    expect(teach).to_have_attribute("data-state", "idle")
    expect(page.get_by_test_id("right")).to_be_hidden()
    expect(page.get_by_test_id("label-0")).to_be_hidden()


# Scripted API answers, so that every outcome a correction can have is shown the same way each time.
PREDICTION = canned(Prediction, {
    "answer": 3,
    "recognized": True,
    "reason": None,
    "confidence": 0.9,
    "answered_by": "online",
    "models": {name: {"top3": [[3, 0.9], [5, 0.06], [8, 0.04]]} for name in MODEL_NAMES},
    "preview": to_data_url(np.zeros((28, 28), np.float32)),
    "model_version": {"fnn_online": 4, "cnn_online": 4},
})
UNRECOGNISED = canned(Prediction, {**PREDICTION, "answer": None, "recognized": False, "reason": "not_sure",
                                   "confidence": 0.4})
NOT_A_DIGIT = canned(Prediction, {**UNRECOGNISED, "reason": "not_a_digit", "confidence": 0.95})


def learned_after() -> dict:
    after = copy.deepcopy(PREDICTION)
    after["models"]["fnn_online"]["top3"] = [[3, 0.97], [5, 0.02], [8, 0.01]]
    after["model_version"] = {"fnn_online": 5, "cnn_online": 5}  # the CNN moved to v5 though it reads the same
    return canned(Prediction, after)


def recording(sent: list, **fulfil):
    """A route handler that keeps each request's JSON body in `sent` and answers with `fulfil`."""

    def handle(route):
        sent.append(route.request.post_data_json)
        route.fulfill(**fulfil)

    return handle


def correction(stored, learned, reason):
    after = learned_after() if learned else PREDICTION
    return canned(CorrectResponse, {"sample_id": "20261123T195301123456Z-1a2b3c4d", "stored": stored, "indexed": True,
                                    "learned": learned, "status": "learned" if learned else "not_learned",
                                    "reason": reason, "model_version": after["model_version"],
                                    "after": after})


QUEUED = "queued: saved; the learner has not reached it yet and will learn it in order"


def queued(stored=True):
    """The learner had not reached the sample within the wait: `after` is the nets' reading before it learns."""
    return canned(CorrectResponse, {"sample_id": "20261123T195301123456Z-1a2b3c4d", "stored": stored, "indexed": True,
                                    "learned": False, "status": "queued", "reason": QUEUED,
                                    "model_version": PREDICTION["model_version"], "after": PREDICTION})


def health(version: int) -> dict:
    return canned(Health, {"status": "ok", "learning": {"on": True, "reason": None},
                           "model_version": {"fnn_online": version, "cnn_online": version}})


@pytest.mark.parametrize(
    ("body", "saved", "updated"),
    [
        (correction(True, True, "learned"), "Saved — thanks! The learning nets updated (version 5).", ONLINE),
        (correction(True, False, "quarantined: fnn_online canary loss would jump"),
         "Saved; the learning nets did not change: quarantined: fnn_online canary loss would jump.", ()),
        (correction("spooled", True, "learned"),
         "Saved on this server; it will reach storage soon. The learning nets updated (version 5).", ONLINE),
        (correction("spooled", False, "learning is off on this server"),
         "Saved on this server; it will reach storage soon. The learning nets did not change: "
         "learning is off on this server.", ()),
        (queued(), "Saved — the learning nets will learn it in a moment.", ()),
        (queued("spooled"),
         "Saved on this server; it will reach storage soon. The learning nets will learn it in a moment.", ()),
    ],
    ids=["learned", "not-learned", "spooled", "spooled-not-learned", "queued", "spooled-queued"],
)
def test_each_outcome_is_explained_and_changed_nets_are_marked(desktop, body, saved, updated):
    page = desktop.page
    sent = []
    page.route("**/api/health", lambda route: route.fulfill(json=health(4)))  # a queued one waits on it: no news
    page.route("**/api/predict", lambda route: route.fulfill(json=PREDICTION))
    page.route("**/api/correct", recording(sent, json=body))
    desktop.pad.draw([[(100.0, 60.0), (100.0, 300.0)], [(40.0, 180.0), (280.0, 180.0)]])
    desktop.pad.wait_for_answer()
    expect(page.get_by_test_id("version-fnn_online")).to_have_text("v4")
    expect(page.get_by_test_id("version-fnn")).to_have_text("")  # shipped nets have no versions

    page.get_by_test_id("wrong").click()
    page.get_by_test_id("label-8").click()
    expect(page.get_by_test_id("saved")).to_have_text(saved)

    [request] = sent
    assert (request["label"], request["predicted"], request["consent"]) == (8, 3, False)
    assert "source" not in request  # only the collection page says where a sample comes from
    assert request["image"].startswith("data:image/png;base64,")
    assert [len(stroke) for stroke in request["strokes"]] == [2, 2]
    assert all(0 <= x <= 1 and 0 <= y <= 1 and t >= 0 for stroke in request["strokes"] for x, y, t in stroke)
    for name in MODEL_NAMES:
        expect(page.get_by_test_id(f"model-{name}")).to_have_class(
            "model updated" if name in updated else "model"
        )
    expect(page.get_by_test_id("version-cnn_online")).to_have_text("v5" if updated else "v4")
    assert desktop.log.errors == []


def health_requests(desktop) -> int:
    return sum(url.endswith("/api/health") for url in desktop.log.requests)


def test_a_queued_correction_is_read_again_once_the_nets_move_on(desktop):
    page = desktop.page
    polls = []
    # The learner gets to it during the third poll after the correction; the nets then read it as learned_after().
    page.route("**/api/health", lambda route: (polls.append(1), route.fulfill(json=health(4 if len(polls) < 3 else 5))))
    predictions = [PREDICTION, learned_after()]
    page.route("**/api/predict", lambda route: route.fulfill(json=predictions.pop(0)))
    page.route("**/api/correct", lambda route: route.fulfill(json=queued()))
    desktop.pad.draw([[(100.0, 60.0), (100.0, 300.0)]])
    desktop.pad.wait_for_answer()

    page.get_by_test_id("right").click()
    expect(page.get_by_test_id("saved")).to_have_text("Saved — the learning nets will learn it in a moment.")
    expect(page.get_by_test_id("version-fnn_online")).to_have_text("v4")

    expect(page.get_by_test_id("saved")).to_have_text("Saved — thanks! The learning nets updated (version 5).")
    for name in MODEL_NAMES:
        expect(page.get_by_test_id(f"model-{name}")).to_have_class("model updated" if name in ONLINE else "model")
    expect(page.get_by_test_id("version-cnn_online")).to_have_text("v5")
    expect(page.get_by_test_id("status")).to_have_text("Recognised: 3")
    assert (len(polls), predictions) == (3, [])
    assert len(desktop.log.predictions()) == 2  # the drawing, and the same drawing read again

    page.wait_for_timeout(2_500)  # polling ended with the news
    assert len(polls) == 3
    assert desktop.log.errors == []


@pytest.mark.parametrize("move_on", ["draw", "clear"])
def test_polling_stops_once_the_page_moves_on(desktop, move_on):
    page = desktop.page
    page.route("**/api/health", lambda route: route.fulfill(json=health(4)))
    page.route("**/api/predict", lambda route: route.fulfill(json=PREDICTION))
    page.route("**/api/correct", lambda route: route.fulfill(json=queued()))
    desktop.pad.draw([[(100.0, 60.0), (100.0, 300.0)]])
    desktop.pad.wait_for_answer()
    page.get_by_test_id("right").click()
    expect(page.get_by_test_id("saved")).to_have_text("Saved — the learning nets will learn it in a moment.")
    with page.expect_request("**/api/health"):
        pass  # polling has begun

    if move_on == "draw":
        desktop.pad.draw([[(60.0, 60.0), (200.0, 200.0)]])
        desktop.pad.wait_for_answer()
    else:
        page.get_by_test_id("clear").click()
    polled = health_requests(desktop)
    page.wait_for_timeout(2_500)
    assert health_requests(desktop) == polled
    expect(page.get_by_test_id("saved")).to_have_text("")
    assert len(desktop.log.predictions()) == (2 if move_on == "draw" else 1)  # no re-read of a drawing gone
    assert desktop.log.errors == []


def test_an_error_is_shown_and_the_same_drawing_can_be_sent_again(desktop):
    page = desktop.page
    answers = [
        {"status": 429, "json": canned(Error, {"error": {"code": "rate_limited",
                                                         "message": "Too many requests; wait a minute."}})},
        {"json": correction(True, True, "learned")},
    ]
    page.route("**/api/predict", lambda route: route.fulfill(json=PREDICTION))
    page.route("**/api/correct", lambda route: route.fulfill(**answers.pop(0)))
    desktop.pad.draw([[(100.0, 60.0), (100.0, 300.0)]])
    desktop.pad.wait_for_answer()

    page.get_by_test_id("right").click()
    expect(page.get_by_test_id("teach-error")).to_have_text("Too many requests; wait a minute.")
    expect(page.get_by_test_id("teach")).to_have_attribute("data-state", "asking")
    expect(page.get_by_test_id("right")).to_be_enabled()
    expect(page.get_by_test_id("right")).to_be_focused()  # given back after the buttons were disabled

    page.get_by_test_id("right").click()
    expect(page.get_by_test_id("teach")).to_have_attribute("data-state", "saved")
    expect(page.get_by_test_id("teach-error")).to_have_text("")
    assert answers == []


@pytest.mark.parametrize(("answer", "state", "status", "question", "label"), [
    (UNRECOGNISED, "unrecognised", "Not recognised — try again", "Not recognised. Which digit did you draw?", 3),
    (NOT_A_DIGIT, "not-a-digit", "That doesn't look like a digit",
     "That doesn't look like a digit. If it is one, which digit did you draw?", 7),
], ids=["not-recognised", "not-a-digit"])
def test_without_a_digit_the_picker_is_offered_at_once_and_teaches(desktop, answer, state, status, question, label):
    page = desktop.page
    sent = []
    page.route("**/api/predict", lambda route: route.fulfill(json=answer))
    page.route("**/api/correct", recording(sent, json=correction(True, False, "quarantined")))
    desktop.pad.draw([[(60.0, 140.0), (220.0, 140.0)]])
    shown = desktop.pad.wait_for_answer()
    assert (shown["state"], shown["status"], shown["answer"]) == (state, status, "?")

    expect(page.get_by_test_id("right")).to_be_hidden()
    expect(page.get_by_test_id("teach-question")).to_have_text(question)
    for each in range(10):
        expect(page.get_by_test_id(f"label-{each}")).to_be_enabled()
    page.get_by_test_id(f"label-{label}").click()
    expect(page.get_by_test_id("teach")).to_have_attribute("data-state", "saved")
    assert [(body["label"], body["predicted"]) for body in sent] == [(label, None)]


@pytest.mark.parametrize("width", [375, 1280])
def test_the_teach_panel_fits_the_screen_and_stays_on_its_origin(open_page, site, held, build_dir, width):
    opened = open_page(viewport={"width": width, "height": 800})
    page = opened.page
    opened.pad.draw(fit_to_canvas(held[0].strokes, opened.pad.side()))
    opened.pad.wait_for_answer()
    if page.get_by_test_id("wrong").is_visible():
        page.get_by_test_id("wrong").click()
    for each in range(10):
        expect(page.get_by_test_id(f"label-{each}")).to_be_visible()
    page.screenshot(path=build_dir / f"teach-{width}.png", full_page=True)

    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    for each in range(10):  # a comfortable touch target, even in two rows on a phone
        box = page.get_by_test_id(f"label-{each}").bounding_box()
        assert box["width"] >= 40 and box["height"] >= 40, each
    assert opened.log.errors == []
    assert opened.log.foreign(site.server.origin) == []
