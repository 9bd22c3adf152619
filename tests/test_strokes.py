"""The strokes net: a trajectory vector that only the writing changes, NumPy serving that agrees with Keras, and
/api/predict reading the pen's path when the page sends it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from app.nets.strokes import STROKES_FILE, StrokeNet
from app.offline import pendigits
from app.offline.stroke_training import as_stroke_net, build_model
from app.reading.trajectory import SIZE, features

ROOT = Path(__file__).resolve().parents[1]


def _denser(stroke: pendigits.Stroke) -> pendigits.Stroke:
    """The same path sampled four times as often (a mouse's events rather than a tablet's 100 ms)."""
    points = np.array(stroke)
    at = np.linspace(0, len(points) - 1, 4 * len(points) - 3)
    return list(zip(np.interp(at, np.arange(len(points)), points[:, 0]),
                    np.interp(at, np.arange(len(points)), points[:, 1]), strict=True))


def test_the_vector_ignores_place_size_and_sampling_but_not_the_order_of_the_strokes(pen_digits):
    four = next(d for d in pen_digits if d.label == 4 and len(d.strokes) == 2)
    vector = features(four.strokes)
    moved = [[(x * 0.3 + 40, y * 0.3 + 7) for x, y in stroke] for stroke in four.strokes]
    assert vector.shape == (SIZE,) and np.allclose(features(moved), vector, atol=1e-5)
    assert np.abs(features([_denser(s) for s in four.strokes]) - vector).max() < 0.1
    assert np.abs(features(four.strokes[::-1]) - vector).max() > 0.5  # the bar first is another trajectory
    assert features([]) is None and features([[(3.0, 4.0)], [(3.0, 4.0)]]) is None


def test_numpy_serving_reads_what_keras_computes(pen_digits):
    model = build_model()
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.2, w.shape).astype(np.float32) for w in model.get_weights()])
    x = pendigits.trajectories(pen_digits[:200])
    expected = np.exp(model(x, training=False).numpy())
    expected /= expected.sum(axis=1, keepdims=True)
    got = as_stroke_net(model).predict_proba(x)
    assert np.abs(got - expected).max() <= 1e-5 and (got.argmax(1) == expected.argmax(1)).all()


def test_the_shipped_net_round_trips_and_is_the_one_the_card_names(tmp_path):
    card = json.loads((ROOT / "models" / "card.json").read_text())
    digest = hashlib.sha256((ROOT / "models" / STROKES_FILE).read_bytes()).hexdigest()
    assert card["files"][STROKES_FILE] == digest
    net = StrokeNet.load(ROOT / "models" / STROKES_FILE)
    net.save(tmp_path / STROKES_FILE)
    again = StrokeNet.load(tmp_path / STROKES_FILE)
    assert all(np.array_equal(a, b) for a, b in zip(net.weights, again.weights, strict=True))


@pytest.fixture(scope="module")
def held(pen_digits) -> list[pendigits.PenDigit]:
    return pendigits.held_out(pen_digits)


def test_predict_reads_the_strokes_when_they_are_sent(client, held):
    digit, image = next(pendigits.canvas_drawings(held[:1]))
    url = pendigits.data_url(image)
    alone = client.post("/api/predict", json={"image": url}).get_json()
    both = client.post("/api/predict", json={"image": url, "strokes": pendigits.page_strokes(digit.strokes)}).get_json()
    assert "strokes" not in alone["models"] and both["models"]["strokes"]["top3"][0][0] == digit.label
    assert both["answer"] == digit.label and both["models"]["cnn"] == alone["models"]["cnn"]


@pytest.mark.parametrize("strokes", [[[[0.5, 0.5, 0]]], [[[0.2, 0.2, 0], [0.2, 0.2, 10]]]])
def test_strokes_that_never_move_leave_the_picture_to_answer(client, held, strokes):
    _, image = next(pendigits.canvas_drawings(held[:1]))
    url = pendigits.data_url(image)
    body = client.post("/api/predict", json={"image": url, "strokes": strokes}).get_json()
    assert "strokes" not in body["models"]
    assert body == client.post("/api/predict", json={"image": url}).get_json()


@pytest.mark.parametrize("strokes", [[[[2.0, 0.5]]], "zig", [[[0.1, 0.2, -4]]], [[["a", 0.2]]]])
def test_bad_strokes_are_refused_with_a_sentence(client, held, strokes):
    _, image = next(pendigits.canvas_drawings(held[:1]))
    reply = client.post("/api/predict", json={"image": pendigits.data_url(image), "strokes": strokes})
    assert reply.status_code == 400
    error = reply.get_json()["error"]
    assert error["code"] == "bad_strokes" and "fractions of the canvas side" in error["message"]
