"""Training the not-a-digit detector (app.reading.rejection): `flask --app app train-rejection`.

Digits are 20,000 MNIST training images and pendigits writers 1–7 drawn twice each on random canvases;
non-digits are app.offline.nondigits' training shapes. (The fonts' own digits were tried as digits too:
odd typefaces widened what counts as a digit, and half as many held-out symbols were rejected.) The
threshold is then set on digits the detector never saw — MNIST's last 5,000 training images and pendigits
writers 8–10 — so that it rejects at most `cost` of the digits the ensemble reads right in each. Held-out
symbols are not looked at here at all; bench/accuracy.py and tests/test_rejection.py measure them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.nets.cnn_forward import CNNForward
from app.nets.fnn import FNN
from app.offline import nondigits, pendigits
from app.offline.mnist import Mnist
from app.reading.ensemble import decide
from app.reading.imaging import ink_map, normalise
from app.reading.rejection import HIDDEN, NETS, DigitSpace, NotADigit, features

FIT_WRITERS = frozenset(range(1, 8))  # pendigits writers whose digits the detector learns from
CALIBRATION_WRITERS = frozenset(range(8, 11))  # whose digits set the threshold (both among the nets' training writers)
VALIDATION = 5000  # MNIST's last training images: the shipped nets' validation, here the threshold's
BATCH = 500


@dataclass(frozen=True)
class Shipped:
    """The shipped pair, read as serving reads them: NumPy only."""

    fnn: FNN
    cnn: CNNForward

    def read(self, x: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        """Hidden units, probabilities by model name, and the ensemble's answers (−1: none), in batches."""
        hidden, fnn, cnn = [], [], []
        for start in range(0, len(x), BATCH):
            part = x[start:start + BATCH]
            hidden.append(self.cnn.hidden(part))
            fnn.append(self.fnn.predict_proba(part))
            cnn.append(self.cnn.predict_proba(part))
        probabilities = {"fnn": np.concatenate(fnn), "cnn": np.concatenate(cnn)}
        answers, _ = decide(probabilities["fnn"], probabilities["cnn"])
        return np.concatenate(hidden), probabilities, answers


def drawn(digits: Sequence[pendigits.PenDigit], rng: np.random.Generator, copies: int) -> tuple[np.ndarray, np.ndarray]:
    """Pen digits on random canvases, `copies` each (the shipped nets' own recipe)."""
    images = [normalise(ink_map(pendigits.random_canvas(d.strokes, rng))) for d in digits for _ in range(copies)]
    return np.stack(images), np.repeat([d.label for d in digits], copies)


def fit_net(x: np.ndarray, y: np.ndarray, seed: int, epochs: int = 16, hidden: int = HIDDEN,
            progress: Callable[[str], None] = print) -> tuple[np.ndarray, ...]:
    """One ReLU layer and a logistic output by Adam on class-balanced cross-entropy (L2 1e-4), standardised input.

    Returns (w1, b1, w2, b2). Plain NumPy: a few seconds an epoch on one core.
    """
    rng = np.random.default_rng(seed)
    n, d = x.shape
    weight = np.where(y == 1, 0.5 / max(y.mean(), 1e-9), 0.5 / max(1 - y.mean(), 1e-9)).astype(np.float32)
    params = [rng.normal(0, np.sqrt(2 / d), (d, hidden)).astype(np.float32), np.zeros(hidden, np.float32),
              rng.normal(0, np.sqrt(1 / hidden), hidden).astype(np.float32), np.zeros((), np.float32)]
    moments = [np.zeros_like(p) for p in params]
    squares = [np.zeros_like(p) for p in params]
    steps, batch, decay = 0, 256, 1e-4
    total = epochs * (n // batch)
    for epoch in range(epochs):
        order = rng.permutation(n)
        loss_sum = 0.0
        for start in range(0, n - batch + 1, batch):
            rows = order[start:start + batch]
            xb, yb, wb = x[rows], y[rows], weight[rows]
            w1, b1, w2, b2 = params
            pre = xb @ w1 + b1
            act = np.maximum(pre, 0.0)
            logit = act @ w2 + b2
            p = 1.0 / (1.0 + np.exp(-np.clip(logit, -50, 50)))
            loss_sum += float((wb * (np.logaddexp(0, logit) - yb * logit)).mean())
            grad_logit = wb * (p - yb) / batch
            grad_act = np.outer(grad_logit, w2) * (pre > 0)
            grads = [xb.T @ grad_act + decay * w1, grad_act.sum(axis=0), act.T @ grad_logit + decay * w2,
                     np.asarray(grad_logit.sum(), np.float32)]
            steps += 1
            rate = 1e-3 * 0.5 * (1 + np.cos(np.pi * steps / total))
            for i, grad in enumerate(grads):
                moments[i] = 0.9 * moments[i] + 0.1 * grad
                squares[i] = 0.999 * squares[i] + 0.001 * grad ** 2
                update = rate * (moments[i] / (1 - 0.9 ** steps)) / (np.sqrt(squares[i] / (1 - 0.999 ** steps)) + 1e-8)
                params[i] = (params[i] - update).astype(np.float32)
        progress(f"epoch {epoch + 1}/{epochs}: loss {loss_sum / (n // batch):.4f}")
    return tuple(params)


def train(shipped: Shipped, data: Mnist, pen_digits: Sequence[pendigits.PenDigit], seed: int, shapes: int,
          cost: float, progress: Callable[[str], None] = print) -> tuple[NotADigit, dict[str, Any]]:
    """The detector and what it was trained on and measured on (for the model card): NETS nets of seeds
    `seed`, `seed` + 1, …, the data drawn with `seed`."""
    rng = np.random.default_rng(seed)
    mnist_x = data.x_train.astype(np.float32) / 255.0
    fit_rows = rng.choice(len(mnist_x) - VALIDATION, 20000, replace=False)
    pen_fit = [d for d in pen_digits if d.writer in FIT_WRITERS]
    pen_calibration = [d for d in pen_digits if d.writer in CALIBRATION_WRITERS]
    progress(f"drawing {len(pen_fit) * 2} pen digits")
    pen_x, pen_y = drawn(pen_fit, rng, 2)
    digit_x = np.concatenate([mnist_x[fit_rows], pen_x])
    digit_y = np.concatenate([data.y_train[fit_rows], pen_y])

    lookalikes = nondigits.Lookalikes()
    glyphs, left_out = nondigits.training_glyphs(lookalikes)
    progress(f"drawing {shapes} non-digits ({len(glyphs)} glyphs kept, {len(left_out)} left out)")
    shape_list = list(nondigits.training_shapes(glyphs, lookalikes, pen_fit, shapes, rng))
    other_x = nondigits.drawings(shape_list, rng)

    progress("reading them with the shipped nets")
    digit_hidden, digit_probs, _ = shipped.read(digit_x)
    other_hidden, other_probs, _ = shipped.read(other_x)
    space = DigitSpace.fit(digit_hidden, digit_y, digit_x)
    x = np.concatenate([features(digit_x, digit_hidden, digit_probs, space),
                        features(other_x, other_hidden, other_probs, space)])
    y = np.concatenate([np.zeros(len(digit_x), np.float32), np.ones(len(other_x), np.float32)])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    nets = [fit_net((x - mean) / scale, y, seed + k, progress=progress) for k in range(NETS)]
    detector = NotADigit(space, mean, scale, *(np.stack(part) for part in zip(*nets, strict=True)), threshold=1.0)

    calibration = {"mnist_validation": (mnist_x[-VALIDATION:], data.y_train[-VALIDATION:]),
                   "pendigits_writers_8_10_random": drawn(pen_calibration, rng, 2),
                   "pendigits_writers_8_10_canvas": pendigits.as_arrays(pen_calibration)}
    thresholds, figures = {}, {}
    for name, (cx, cy) in calibration.items():
        hidden, probs, answers = shipped.read(cx)
        scores = detector.score(features(cx, hidden, probs, space))
        right = answers == cy
        thresholds[name] = float(np.quantile(scores[right], 1 - cost))
        figures[name] = {"digits": len(cy), "read_right": int(right.sum()), "scores": scores, "right": right}
    detector.threshold = max(thresholds.values())
    report = {
        "seed": seed,
        "cost": cost,
        "threshold": round(detector.threshold, 6),
        "fit": {"mnist_digits": len(fit_rows), "pendigits_digits": len(pen_y), "pendigits_writers": sorted(FIT_WRITERS),
                "non_digits": len(shape_list), "glyphs_kept": len(glyphs), "glyphs_left_out": len(left_out),
                "nets": NETS},
        "calibration": {name: {"digits": f["digits"], "read_right": f["read_right"],
                               "rejected_of_read_right": round(float((f["scores"][f["right"]] > detector.threshold)
                                                                     .mean()), 5)}
                        for name, f in figures.items()},
        "training_non_digits_rejected": round(float((detector.score(x[len(digit_x):]) > detector.threshold).mean()), 4),
    }
    return detector, report
