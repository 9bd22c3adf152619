"""The answer rule of the online pair."""

from __future__ import annotations

import numpy as np

from app.reading.ensemble import decide, top3


def _p(digit: int, confidence: float) -> np.ndarray:
    probs = np.full(10, (1 - confidence) / 9)
    probs[digit] = confidence
    return probs[np.newaxis]


def test_agreeing_models_give_their_digit_even_when_unsure():
    answer, confidence = decide(_p(7, 0.3), _p(7, 0.45))
    assert answer[0] == 7 and np.isclose(confidence[0], 0.45)


def test_disagreeing_unsure_models_recognise_nothing():
    answer, _ = decide(_p(7, 0.4), _p(1, 0.45))
    assert answer[0] == -1


def test_disagreeing_models_defer_to_the_more_confident():
    assert decide(_p(7, 0.9), _p(1, 0.6))[0][0] == 7
    assert decide(_p(7, 0.4), _p(1, 0.6))[0][0] == 1


def test_top3_is_sorted_and_rounded():
    probs = np.array([0.04, 0.6, 0.0, 0.3, 0.060004, 0, 0, 0, 0, 0])
    assert top3(probs) == [[1, 0.6], [3, 0.3], [4, 0.06]]
