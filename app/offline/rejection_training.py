"""Training the not-a-digit detector (app.reading.rejection): `flask --app app train-rejection`.

Digits are 20,000 MNIST training images and the digits of pendigits writers 1–17, each drawn three times: on a
random canvas as written, on another bent and redrawn by hand, and as written in the pendigits box; non-digits
are app.offline.nondigits' training shapes. (The fonts' own digits were tried as digits too: odd typefaces
widened what counts as a digit, and half as many held-out symbols were rejected.) With `--with-strokes`, the
scorer of the picture and the path together learns each pen digit's picture with its path as drawn and `ORDERS`
times drawn in another order (`another_order`), since writers differ most in how they move the pen. The
thresholds are then set on digits the detector never saw — MNIST's last 5,000 training images and writers 18–24
(both among the nets' training data) — so that each rejects at most `cost` of the digits the ensemble reads
right in each. Held-out
symbols are not looked at here at all; bench/accuracy.py and tests/test_rejection.py measure them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.nets.cnn_forward import CNNForward
from app.nets.fnn import FNN
from app.nets.strokes import StrokeNet
from app.offline import nondigits, pendigits
from app.offline.mnist import Mnist
from app.offline.pendigits import Stroke
from app.reading.ensemble import combine, decide
from app.reading.imaging import ink_map, normalise
from app.reading.rejection import HIDDEN, NETS, DigitSpace, NotADigit, Scorer, features, with_strokes
from app.reading.trajectory import features as trajectory

FIT_WRITERS = frozenset(range(1, 18))  # pendigits writers whose digits the detector learns from
CALIBRATION_WRITERS = frozenset(range(18, 25))  # whose digits set the thresholds (all among the nets' training writers)
VALIDATION = 5000  # MNIST's last training images: the shipped nets' validation, here the threshold's
BATCH = 500
ORDERS = 2  # each pen digit's picture is learned with its path as drawn and this many times in `another_order`
CLOSED = 0.25  # a stroke whose ends are this close (× its size) is a loop, which a pen may start anywhere


@dataclass(frozen=True)
class Shipped:
    """The shipped nets, read as serving reads them: NumPy only."""

    fnn: FNN
    cnn: CNNForward
    strokes: StrokeNet | None = None

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


def another_order(strokes: Sequence[Stroke], rng: np.random.Generator) -> list[Stroke]:
    """The same digit with the pen moved another way: all of it drawn backwards (the last stroke first, each from
    its end); or its loops started somewhere else along them, maybe backwards too; or its longest stroke drawn as
    two, lifting the pen halfway, the halves in either order and direction. Held-out writers do each: writer 30
    draws 9s from the foot up, writer 28 most 0s as two arcs; a detector that never saw such paths calls them no
    digit."""
    way = rng.integers(4)
    out = [list(reversed(s)) for s in reversed(strokes)] if way in (0, 2) else [list(s) for s in strokes]
    if way == 3:
        k = max(range(len(out)), key=lambda i: len(out[i]))
        if len(out[k]) >= 4:
            cut = int(rng.integers(len(out[k]) // 4, 3 * len(out[k]) // 4 + 1))
            halves = [half[::-1] if rng.random() < 0.5 else half for half in (out[k][:cut + 1], out[k][cut:])]
            out[k:k + 1] = halves[::-1] if rng.random() < 0.5 else halves
        return out
    if way == 0:
        return out
    for k, stroke in enumerate(out):
        points = np.array(stroke)
        size = float(np.ptp(points, axis=0).max()) if len(points) else 0.0
        if len(stroke) > 4 and np.linalg.norm(points[0] - points[-1]) < CLOSED * size:
            start = int(rng.integers(1, len(stroke)))
            out[k] = stroke[start:] + stroke[:start]
    return out


def drawn(digits: Sequence[pendigits.PenDigit], rng: np.random.Generator,
          copies: int) -> tuple[np.ndarray, np.ndarray]:
    """Pen digits on random canvases, `copies` each (the shipped nets' own recipe)."""
    images = [normalise(ink_map(pendigits.random_canvas(d.strokes, rng))) for d in digits for _ in range(copies)]
    return np.stack(images), np.repeat([d.label for d in digits], copies)


def pen_pictures(digits: Sequence[pendigits.PenDigit],
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, list[list[Stroke]]]:
    """Each digit three times (on a random canvas as written, bent and redrawn by hand on another, as written in
    its box), with the labels and the strokes each picture was drawn from."""
    images, labels, paths = [], [], []
    boxed, _ = pendigits.as_arrays(digits)
    for digit, in_box in zip(digits, boxed, strict=True):
        redrawn = nondigits.handmade(pendigits.bend(digit.strokes, rng), rng, 0.01)
        for strokes, image in ((digit.strokes, None), (redrawn, None), (digit.strokes, in_box)):
            images.append(normalise(ink_map(pendigits.random_canvas(strokes, rng))) if image is None else image)
            labels.append(digit.label)
            paths.append(strokes)
    return np.stack(images), np.array(labels), paths


def paths_of(strokes: Sequence[Sequence[Stroke]]) -> tuple[np.ndarray, np.ndarray]:
    """The trajectory vectors of the drawings that have one, and which drawings those are (a dot has none)."""
    vectors = [trajectory(s) for s in strokes]
    known = np.array([v is not None for v in vectors])
    return np.stack([v for v in vectors if v is not None]), known


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


def fit_scorer(x: np.ndarray, y: np.ndarray, seed: int, progress: Callable[[str], None]) -> Scorer:
    """`NETS` nets of seeds `seed`, `seed` + 1, … on standardised rows; the threshold is set afterwards."""
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    nets = [fit_net((x - mean) / scale, y, seed + k, progress=progress) for k in range(NETS)]
    return Scorer(mean, scale, *(np.stack(part) for part in zip(*nets, strict=True)), threshold=1.0)


def calibrate(scorer: Scorer, sets: dict[str, tuple[np.ndarray, np.ndarray]], cost: float) -> dict[str, Any]:
    """Set the threshold so that no set (name: (feature rows, read right)) loses more than `cost` of its digits
    read right (give or take one digit: the quantile is interpolated); what each then loses."""
    scores = {name: scorer.score(rows) for name, (rows, _) in sets.items()}
    scorer.threshold = max(float(np.quantile(scores[name][right], 1 - cost)) for name, (_, right) in sets.items())
    return {name: {"digits": len(right), "read_right": int(right.sum()),
                   "rejected_of_read_right": round(float((scores[name][right] > scorer.threshold).mean()), 5)}
            for name, (_, right) in sets.items()}


@dataclass(frozen=True)
class Calibration:
    """Digits the detector never saw, read by the shipped pair: their feature rows, the pair's probabilities and
    answers, their labels, and the pen digits they were drawn from, in order (none for MNIST's)."""

    rows: np.ndarray
    probabilities: dict[str, np.ndarray]
    answers: np.ndarray
    labels: np.ndarray
    sources: Sequence[pendigits.PenDigit] | None


def train(shipped: Shipped, data: Mnist, pen_digits: Sequence[pendigits.PenDigit], seed: int, shapes: int,
          cost: float, progress: Callable[[str], None] = print) -> tuple[NotADigit, dict[str, Any]]:
    """The detector and what it was trained on and measured on (for the model card): the data drawn with `seed`,
    each scorer's nets of seeds `seed`, `seed` + 1, …; the scorer with strokes only if `shipped` has its net."""
    rng = np.random.default_rng(seed)
    mnist_x = data.x_train.astype(np.float32) / 255.0
    fit_rows = rng.choice(len(mnist_x) - VALIDATION, 20000, replace=False)
    pen_fit = [d for d in pen_digits if d.writer in FIT_WRITERS]
    pen_calibration = [d for d in pen_digits if d.writer in CALIBRATION_WRITERS]
    progress(f"drawing {len(pen_fit) * 3} pen digits")
    pen_x, pen_y, pen_paths = pen_pictures(pen_fit, rng)
    digit_x = np.concatenate([mnist_x[fit_rows], pen_x])
    digit_y = np.concatenate([data.y_train[fit_rows], pen_y])

    lookalikes = nondigits.Lookalikes()
    glyphs, left_out = nondigits.training_glyphs(lookalikes)
    progress(f"drawing {shapes} non-digits ({len(glyphs)} glyphs kept, {len(left_out)} left out)")
    shape_list = list(nondigits.training_shapes(glyphs, lookalikes, pen_fit, shapes, rng))
    other_x, other_paths = nondigits.drawings(shape_list, rng)

    progress("reading them with the shipped nets")
    digit_hidden, digit_probs, _ = shipped.read(digit_x)
    other_hidden, other_probs, _ = shipped.read(other_x)
    space = DigitSpace.fit(digit_hidden, digit_y, digit_x)
    digit_rows = features(digit_x, digit_hidden, digit_probs, space)
    other_rows = features(other_x, other_hidden, other_probs, space)
    picture = fit_scorer(np.concatenate([digit_rows, other_rows]), labels_of(len(digit_rows), len(other_rows)),
                         seed, progress)

    drawn_twice = [d for d in pen_calibration for _ in range(2)]  # `drawn` draws each digit twice in a row
    sets = {"mnist_validation": (mnist_x[-VALIDATION:], data.y_train[-VALIDATION:], None),
            "pendigits_writers_18_24_random": (*drawn(pen_calibration, rng, 2), drawn_twice),
            "pendigits_writers_18_24_canvas": (*pendigits.as_arrays(pen_calibration), pen_calibration)}
    calibration = {}
    for name, (x, labels, sources) in sets.items():
        hidden, probs, answers = shipped.read(x)
        calibration[name] = Calibration(features(x, hidden, probs, space), probs, answers, labels, sources)
    figures = calibrate(picture, {name: (c.rows, c.answers == c.labels) for name, c in calibration.items()}, cost)
    report = {"seed": seed, "cost": cost, "threshold": round(picture.threshold, 6),
              "fit": {"mnist_digits": len(fit_rows), "pendigits_digits": len(pen_y),
                      "pendigits_writers": sorted(FIT_WRITERS), "non_digits": len(shape_list),
                      "glyphs_kept": len(glyphs), "glyphs_left_out": len(left_out), "nets": NETS},
              "calibration": figures,
              "training_non_digits_rejected": round(float((picture.score(other_rows) > picture.threshold).mean()), 4)}
    detector = NotADigit(space, picture)
    if shipped.strokes is not None:
        detector.strokes, report["with_strokes"] = strokes_scorer(
            shipped.strokes, (digit_rows[len(fit_rows):], pen_paths), (other_rows, other_paths), calibration,
            seed + NETS, cost, rng, progress)
    return detector, report


def labels_of(digits: int, others: int) -> np.ndarray:
    return np.concatenate([np.zeros(digits, np.float32), np.ones(others, np.float32)])


def strokes_scorer(net: StrokeNet, pen: tuple[np.ndarray, list[list[Stroke]]],
                   others: tuple[np.ndarray, list[list[Stroke]]], calibration: dict[str, Calibration], seed: int,
                   cost: float, rng: np.random.Generator,
                   progress: Callable[[str], None]) -> tuple[Scorer, dict[str, Any]]:
    """The scorer of picture and path together (`net`: the strokes net): pen digits (picture rows, strokes) with
    their paths as drawn and `ORDERS` times in `another_order`, non-digits with theirs; calibrated on the
    calibration writers' digits with their paths as written, read right by the three nets together."""

    def rows(picture_rows: np.ndarray, strokes: Sequence[Sequence[Stroke]]) -> tuple[np.ndarray, np.ndarray]:
        vectors, known = paths_of(strokes)
        paths = net.predict_proba(vectors)
        return with_strokes(picture_rows[known], vectors, paths), paths

    pen_rows, pen_paths = pen
    digit_rows = np.concatenate([rows(pen_rows, pen_paths)[0],
                                 *(rows(pen_rows, [another_order(s, rng) for s in pen_paths])[0]
                                   for _ in range(ORDERS))])
    other_rows = rows(*others)[0]
    progress(f"the scorer with strokes: {len(digit_rows)} digit rows, {len(other_rows)} non-digit rows")
    scorer = fit_scorer(np.concatenate([digit_rows, other_rows]), labels_of(len(digit_rows), len(other_rows)),
                        seed, progress)
    sets = {}
    for name, c in calibration.items():
        if c.sources is not None:  # MNIST has no strokes
            path_rows, paths = rows(c.rows, [d.strokes for d in c.sources])
            read = combine(c.probabilities["fnn"], c.probabilities["cnn"], strokes=paths).answer
            sets[name] = (path_rows, read == c.labels)
    figures = calibrate(scorer, sets, cost)
    return scorer, {"threshold": round(scorer.threshold, 6), "digit_rows": len(digit_rows),
                    "non_digit_rows": len(other_rows), "calibration": figures,
                    "training_non_digits_rejected": round(float((scorer.score(other_rows) > scorer.threshold)
                                                                .mean()), 4)}
