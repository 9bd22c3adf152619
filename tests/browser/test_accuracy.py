"""Real handwriting through the real page: pendigits trajectories replayed with the mouse.

Each held-out digit is drawn stroke by stroke into the canvas, the page predicts on every pointer-up
as it does for a person, and the answer on screen is compared with the writer's label.
"""

from __future__ import annotations

import json
import math
import random
import statistics

import pytest

from app.offline.pendigits import HELD_OUT_WRITERS, PenDigit, Stroke, fit_to_canvas

pytestmark = pytest.mark.slow  # measurement runs of minutes: `-m 'not slow'` skips them locally

PER_LABEL = 20  # 200 digits in all, label-balanced
SEED = 20240503
MIN_ACCURACY = 0.95
TABLET_UNIT = 1.0  # the recording's own resolution in its 500×500 box


def simplify(stroke: Stroke, tolerance: float = TABLET_UNIT) -> Stroke:
    """Drop samples that lie within `tolerance` of the line through their neighbours (Douglas–Peucker).

    Headless Chromium acknowledges each mouse move only at the next frame (≈ 17 ms), so every move
    costs time; samples within one tablet unit of a straight line change no pixel worth a vote (the
    brush is 31 units wide) and skipping them keeps 200 digits within the time budget.
    """
    if len(stroke) < 3:
        return list(stroke)
    (x0, y0), (x1, y1) = stroke[0], stroke[-1]
    length = math.hypot(x1 - x0, y1 - y0)

    def distance(point: tuple[float, float]) -> float:
        if length == 0:
            return math.dist(point, stroke[0])
        return abs((y1 - y0) * point[0] - (x1 - x0) * point[1] + x1 * y0 - y1 * x0) / length

    index = max(range(1, len(stroke) - 1), key=lambda i: distance(stroke[i]))
    if distance(stroke[index]) <= tolerance:
        return [stroke[0], stroke[-1]]
    return simplify(stroke[: index + 1], tolerance)[:-1] + simplify(stroke[index:], tolerance)


def sample(digits: list[PenDigit]) -> list[PenDigit]:
    """A fixed, label-balanced sample of held-out writers' digits, in a fixed shuffled order."""
    rng = random.Random(SEED)
    chosen = [
        digit
        for label in range(10)
        for digit in rng.sample([d for d in digits if d.label == label and d.writer in HELD_OUT_WRITERS], PER_LABEL)
    ]
    rng.shuffle(chosen)
    return chosen


def test_held_out_handwriting_is_recognised(pen_digits, pad, desktop, build_dir, capsys):
    side = pad.side()
    misread, latencies = [], []
    digits = sample(pen_digits)
    for digit in digits:
        desktop.page.keyboard.press("Escape")
        pad.draw(fit_to_canvas([simplify(stroke) for stroke in digit.strokes], side))
        shown = pad.wait_for_answer()
        latencies.append(shown["latencyMs"])
        if shown["answer"] != str(digit.label):
            misread.append({"label": digit.label, "writer": digit.writer, "shown": shown["answer"]})

    accuracy = 1 - len(misread) / len(digits)
    deciles = statistics.quantiles(latencies, n=10)
    metrics = {
        "digits": len(digits),
        "correct": len(digits) - len(misread),
        "accuracy": round(accuracy, 4),
        "latency_ms": {"median": round(statistics.median(latencies), 1), "p90": round(deciles[-1], 1)},
        "canvas_css_px": side,
        "misread": misread,
    }
    (build_dir / "browser-metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    with capsys.disabled():  # the figures are the point of the run: show them even when it passes
        print(
            f"\nbrowser accuracy {accuracy:.1%} over {len(digits)} held-out digits; pointer-up→answer "
            f"median {metrics['latency_ms']['median']} ms, p90 {metrics['latency_ms']['p90']} ms"
        )
    assert accuracy >= MIN_ACCURACY, f"misread: {misread}"
