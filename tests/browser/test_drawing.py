"""The drawing pad's behaviour: undo, clear, when the API is called, and which answer is shown."""

from __future__ import annotations

import numpy as np
import pytest

from app.reading.ensemble import MODEL_NAMES
from app.reading.imaging import to_data_url
from app.web.schemas import Error, Prediction
from tests.browser.conftest import canned

DOWN = [(100.0, 60.0), (100.0, 140.0), (100.0, 220.0), (100.0, 300.0)]
ACROSS = [(40.0, 180.0), (120.0, 180.0), (200.0, 180.0), (280.0, 180.0)]
DIAGONAL = [(60.0, 60.0), (140.0, 140.0), (220.0, 220.0), (300.0, 300.0)]


@pytest.mark.parametrize("how", ["button", "Control+z", "Meta+z", "Backspace"])
def test_undo_removes_exactly_the_last_stroke(pad, desktop, how):
    pad.draw([DOWN])
    one_stroke = pad.pixels()
    pad.draw([ACROSS])
    assert pad.stroke_count() == 2
    assert pad.pixels() != one_stroke

    if how == "button":
        desktop.page.get_by_test_id("undo").click()
    else:
        desktop.page.keyboard.press(how)

    assert pad.stroke_count() == 1
    assert pad.pixels() == one_stroke


@pytest.mark.parametrize("how", ["button", "Escape", "Delete"])
def test_clear_empties_the_pad_and_the_result(pad, desktop, how):
    page = desktop.page
    pad.draw([DOWN, ACROSS])
    assert pad.wait_for_answer()["state"] in {"recognised", "unrecognised", "not-a-digit"}
    assert pad.ink() > 0

    if how == "button":
        page.get_by_test_id("clear").click()
    else:
        page.keyboard.press(how)

    assert (pad.stroke_count(), pad.ink()) == (0, 0)
    assert page.get_by_test_id("status").get_attribute("data-state") == "empty"
    assert page.get_by_test_id("answer").text_content() == ""
    assert page.get_by_test_id("preview").is_hidden()


def test_an_empty_pad_never_calls_the_api(pad, desktop):
    page = desktop.page
    page.get_by_test_id("predict").click()
    page.keyboard.press("Backspace")
    pad.draw([DOWN])  # one request
    page.get_by_test_id("undo").click()  # back to empty: no request
    page.get_by_test_id("predict").click()
    page.keyboard.press("Escape")
    assert page.get_by_test_id("status").text_content() == "Draw a digit"

    # fetch() is called synchronously by each action, so one more request that is answered proves
    # that no earlier action sent anything unseen.
    pad.draw([DIAGONAL])
    pad.wait_for_answer(seq=2)
    assert len(desktop.log.predictions()) == 2


def test_predict_button_asks_again_for_the_same_drawing(pad, desktop):
    pad.draw([DIAGONAL])
    first = pad.wait_for_answer(seq=1)
    desktop.page.get_by_test_id("predict").click()
    again = pad.wait_for_answer(seq=2)
    assert again["answer"] == first["answer"]
    assert len(desktop.log.predictions()) == 2


def test_only_the_latest_drawing_is_answered(pad, desktop, probe):
    """One request in flight, one waiting (replaced by newer drawings), stale answers never shown."""
    probe.delay = 1.0  # the first answer arrives long after the last stroke
    desktop.page.evaluate(
        """() => {
            window.shownSeqs = [];
            const status = document.querySelector('[data-testid=status]');
            new MutationObserver(() => window.shownSeqs.push(status.dataset.seq))
                .observe(status, { attributes: true, attributeFilter: ['data-seq'] });
        }"""
    )
    pad.draw([DOWN, ACROSS, DIAGONAL])
    pad.wait_for_answer(seq=3)

    assert probe.peak == 1, "more than one prediction was in flight"
    assert probe.calls == 2, "the waiting request should have been replaced by the newest drawing"
    assert desktop.page.evaluate("window.shownSeqs") == ["3"]


ERROR_BODY = canned(Error, {"error": {"code": "models_missing", "message": "The models are not trained yet."}})
UNRECOGNISED_BODY = canned(Prediction, {
    "answer": None,
    "recognized": False,
    "reason": "not_sure",
    "confidence": 0.31,
    "answered_by": "online",
    "models": {name: {"top3": [[3, 0.31], [5, 0.3], [8, 0.2]]} for name in MODEL_NAMES},
    "preview": to_data_url(np.zeros((28, 28), np.float32)),
    "model_version": {"fnn_online": 0, "cnn_online": 0},
})
NOT_A_DIGIT_BODY = canned(Prediction, {**UNRECOGNISED_BODY, "reason": "not_a_digit", "confidence": 0.93})


@pytest.mark.parametrize(
    ("answer_with", "state", "status", "answer"),
    [
        (lambda route: route.fulfill(status=503, json=ERROR_BODY), "error", "The models are not trained yet.", ""),
        (lambda route: route.abort("connectionrefused"), "error", "The server cannot be reached", ""),
        (lambda route: route.fulfill(json=UNRECOGNISED_BODY), "unrecognised", "Not recognised — try again", "?"),
        (lambda route: route.fulfill(json=NOT_A_DIGIT_BODY), "not-a-digit", "That doesn't look like a digit", "?"),
    ],
    ids=["api-error", "network-down", "not-recognised", "not-a-digit"],
)
def test_states_other_than_an_answer_are_explained(pad, desktop, answer_with, state, status, answer):
    desktop.page.route("**/api/predict", answer_with)
    pad.draw([DOWN])
    shown = pad.wait_for_answer()
    assert shown["state"] == state
    assert shown["status"].startswith(status)
    assert shown["answer"] == answer
