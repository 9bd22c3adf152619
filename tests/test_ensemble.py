"""The answer rule of the online pair, and the nets' reading of one batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.nets.cnn_forward import CNNForward
from app.nets.fnn import FNN
from app.offline import pendigits
from app.online.reference import ReferenceDigits
from app.reading.ensemble import MODEL_NAMES, Ensemble, decide, top3, with_strokes
from app.reading.model_files import load_strokes
from app.reading.trajectory import features

ROOT = Path(__file__).resolve().parent.parent


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


def test_disagreeing_models_settle_on_their_mean_with_the_cnn_counted_twice():
    answer, confidence = decide(_p(7, 0.9), _p(1, 0.6))  # the more confident FNN no longer wins outright
    assert answer[0] == 1 and np.isclose(confidence[0], (0.1 / 9 + 2 * 0.6) / 3)
    assert decide(_p(7, 0.9), _p(1, 0.4))[0][0] == 7  # a CNN that is unsure does not outweigh a sure FNN
    assert decide(_p(7, 0.4), _p(1, 0.6))[0][0] == 1


def test_top3_is_sorted_and_rounded():
    probs = np.array([0.04, 0.6, 0.0, 0.3, 0.060004, 0, 0, 0, 0, 0])
    assert top3(probs) == [[1, 0.6], [3, 0.3], [4, 0.06]]


def test_the_convolutions_run_once_and_read_as_each_net_alone():
    ensemble = Ensemble.from_shipped(FNN.load(ROOT / "models" / "fnn.npz"),
                                     CNNForward.load(ROOT / "models" / "cnn.weights.h5"))
    online = ensemble.models["cnn_online"]
    rng = np.random.default_rng(0)
    online.set_online_weights([w + rng.normal(scale=0.02, size=w.shape) for w in online.online_weights()])
    x = ReferenceDigits.load(ROOT / "models").canary_x[:64]

    def each_alone() -> dict[str, np.ndarray]:
        return {name: ensemble.models[name].predict_proba(x) for name in MODEL_NAMES}

    shared, alone = ensemble.probabilities(x), each_alone()
    assert all(np.abs(shared[name] - alone[name]).max() < 1e-6 for name in MODEL_NAMES)
    assert np.abs(shared["cnn"] - shared["cnn_online"]).max() > 0.01  # the online step is read, not the shipped net
    weights = online.get_weights()
    online.set_weights([weights[0] * 1.5, *weights[1:]])  # convolutions of its own: read through them
    shared, alone = ensemble.probabilities(x), each_alone()
    assert all(np.abs(shared[name] - alone[name]).max() < 1e-6 for name in MODEL_NAMES)


def test_a_batch_reads_the_rows_with_a_trajectory_with_the_strokes_net_and_the_rest_from_the_picture(pen_digits):
    models = Path(__file__).resolve().parents[1] / "models"
    ensemble = Ensemble.from_shipped(FNN.load(models / "fnn.npz"), CNNForward.load(models / "cnn.weights.h5"))
    ensemble.strokes = load_strokes(models)
    digits = pendigits.held_out(pen_digits)[:3]
    x, _ = pendigits.as_arrays(digits)
    paths = [features(digits[0].strokes), None, features(digits[2].strokes)]
    mixed = ensemble.answers(x, trajectories=paths)
    picture = ensemble.answers(x)
    probs = ensemble.probabilities(x)
    product = with_strokes(probs["fnn_online"][[0, 2]], probs["cnn_online"][[0, 2]],
                           ensemble.strokes.predict_proba(np.stack([paths[0], paths[2]])))
    np.testing.assert_allclose(mixed.distribution[[0, 2]], product, atol=1e-6)
    np.testing.assert_array_equal(mixed.distribution[1], picture.distribution[1])
    assert mixed.answer[1] == picture.answer[1] and list(mixed.online) == list(picture.online)
    assert ensemble.answers(x, trajectories=[None] * 3).distribution.tolist() == picture.distribution.tolist()
