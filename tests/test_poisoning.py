"""200 corrections with random wrong labels must not wreck the online nets (the learning guard)."""

from __future__ import annotations

import numpy as np
import pytest

from app.offline import mnist, pendigits
from app.offline.evaluation import ensemble_accuracies
from app.runtime import ensemble

pytestmark = pytest.mark.slow  # measurement runs of minutes: `-m 'not slow'` skips them locally


def test_random_wrong_labels_leave_mnist_accuracy_within_1pp(make_app, pen_digits, mnist_dir):
    app = make_app(LEARNING=True)
    client = app.test_client()
    rng = np.random.default_rng(2026)
    digits = pendigits.held_out(pen_digits)
    chosen = [digits[i] for i in rng.choice(len(digits), 200, replace=False)]
    outcomes = []
    for digit, image in pendigits.canvas_drawings(chosen):
        wrong = int((digit.label + rng.integers(1, 10)) % 10)
        reply = client.post("/api/correct", json={"image": pendigits.data_url(image), "label": wrong}).get_json()
        assert reply["stored"] is True
        outcomes.append(reply["learned"])

    data = mnist.load(mnist_dir)
    with app.app_context():
        figures = ensemble_accuracies(ensemble(), data.x_test.astype(np.float32) / 255.0, data.y_test)
    print(f"poisoning: {sum(outcomes)} of 200 wrong labels passed the guard; MNIST test {figures}")
    for name in ("fnn", "cnn"):
        assert figures[f"{name}_online"] >= figures[name] - 0.01, (name, figures)
    assert figures["ensemble"] >= figures["cnn"] - 0.01
