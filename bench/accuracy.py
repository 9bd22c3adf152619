"""Digit accuracy with and without the not-a-digit detector, and how often it rejects each held-out symbol.

    .venv/bin/python bench/accuracy.py [--models models] [--copies 20] [--latency 600]
        [--cross-validation build/cross-validation] [--json build/accuracy.json]

Reads as serving does (NumPy, the shipped pair, which the online pair starts as): the held-out pendigits
writers (25–30) drawn on the page's canvas, and each of them alone; the MNIST test set; and every held-out symbol
(app.offline.nondigits.HELD_OUT_SYMBOLS: each Latin Hershey font's glyph and a hand-drawn one, each made by
hand `--copies` times on random canvases), from the picture alone and with the strokes, as the page sends them.
A digit counts as read when the answer is right and not rejected; a symbol counts as rejected when the detector
answers `not_a_digit`. Last, what the detector and the strokes
net cost a prediction: /api/predict p50/p99 in-process (Flask test client) without either (a copy of the model
folder lacking their files), with the detector, and with both and the strokes sent, on `--latency` held-out
drawings, taking turns request by request.
With `--cross-validation` (a folder written by `flask cross-validate`), also each fold's accuracy on its own
left-out writers, the figure for writers the nets never saw (the detector belongs to the shipped nets only).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.nets.strokes import STROKES_FILE  # noqa: E402
from app.offline import mnist, nondigits, pendigits  # noqa: E402
from app.offline.rejection_training import Shipped  # noqa: E402
from app.reading.ensemble import combine  # noqa: E402
from app.reading.imaging import ink_map, normalise  # noqa: E402
from app.reading.model_files import load_for_serving, load_strokes  # noqa: E402
from app.reading.rejection import REJECTION_FILE, NotADigit  # noqa: E402
from app.reading.trajectory import features as trajectory  # noqa: E402
from bench.predict import percentiles  # noqa: E402  (one way to time things across the benches)


def read(shipped: Shipped, detector: NotADigit, x: np.ndarray, paths: Sequence[np.ndarray | None] | None = None
         ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The pair's answers, which drawings the detector rejects, and the pair's probabilities; with `paths` (a
    trajectory vector or none per drawing, as the page sends strokes) drawings with one are judged with it."""
    hidden, probabilities, answers = shipped.read(x)
    rejected = detector.rejects(x, hidden, probabilities)
    known = np.array([p is not None for p in paths or ()], dtype=bool)
    if shipped.strokes is not None and detector.strokes is not None and known.any():
        vectors = np.stack([p for p in paths if p is not None])
        rejected[known] = detector.rejects(x[known], hidden[known], {k: v[known] for k, v in probabilities.items()},
                                           vectors, shipped.strokes.predict_proba(vectors))
    return answers, rejected, probabilities


def accuracy(answers: np.ndarray, rejected: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    right = answers == labels
    return {"digits": len(labels), "before": round(100 * float(right.mean()), 2),
            "after": round(100 * float((right & ~rejected).mean()), 2),
            "rejected": int(rejected.sum()), "rejected_read_right": int((right & rejected).sum())}


def rejection_rates(symbols: Sequence[str], rejected: np.ndarray) -> dict[str, object]:
    """How many of the drawings were answered not_a_digit, in all and per symbol (most rejected first)."""
    per_symbol: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for symbol, no in zip(symbols, rejected, strict=True):
        per_symbol[symbol][0] += int(no)
        per_symbol[symbol][1] += 1
    return {"drawings": len(symbols), "rejected": round(100 * float(rejected.mean()), 1),
            "per_symbol": {s: round(100 * r / n, 1) for s, (r, n) in sorted(per_symbol.items(),
                                                                          key=lambda kv: -kv[1][0] / kv[1][1])}}


def predict_latency(models: Path, drawings: list[tuple[str, list]]) -> dict[str, object]:
    """/api/predict as the issue's baseline served it (neither the detector nor the strokes net: a copy of the
    models folder without their files), with the detector, and with both and the strokes sent, as the page sends
    them; interleaved request by request so that all three see the same machine."""
    with tempfile.TemporaryDirectory() as scratch:
        bare = Path(scratch) / "models"
        shutil.copytree(models, bare, ignore=shutil.ignore_patterns(REJECTION_FILE, STROKES_FILE))
        apps = {name: create_app({"MODEL_DIR": folder, "DATA_DIR": Path(scratch) / name, "LEARNING": False,
                                  "LEARNER": "process", "RATE_LIMIT": "1000000/minute"}).test_client()
                for name, folder in (("models", models), ("bare", bare))}
        variants = {"neither": (apps["bare"], False), "detector": (apps["models"], False),
                    "detector_and_strokes": (apps["models"], True)}
        seconds: dict[str, list[float]] = {name: [] for name in variants}
        for n, (url, strokes) in enumerate([*drawings[:20], *drawings]):  # the first 20: warm-up
            for name, (client, sends_strokes) in variants.items():
                body = {"image": url, "strokes": strokes} if sends_strokes else {"image": url}
                start = time.perf_counter()
                reply = client.post("/api/predict", json=body)
                assert reply.status_code == 200, reply.get_json()
                if n >= 20:
                    seconds[name].append(time.perf_counter() - start)
    figures: dict[str, object] = {name: percentiles(times) for name, times in seconds.items()}
    base = figures["neither"]["p50_ms"]
    return figures | {f"p50_ratio_{name}": round(figures[name]["p50_ms"] / base, 2) for name in variants if
                      name != "neither"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=Path, default=ROOT / "models")
    parser.add_argument("--mnist", type=Path, default=ROOT.parent / "shared" / "mnist")
    parser.add_argument("--copies", type=int, default=20, help="drawings of each held-out shape")
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--latency", type=int, default=600, help="held-out drawings timed through /api/predict")
    parser.add_argument("--cross-validation", type=Path, default=None,
                        help="a folder written by `flask cross-validate`: report its per-fold accuracy too")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    shipped = Shipped(*load_for_serving(args.models), load_strokes(args.models))
    detector = NotADigit.load(args.models / REJECTION_FILE)
    figures: dict[str, object] = {}

    held_out = pendigits.held_out(pendigits.parse())
    x, y = pendigits.as_arrays(held_out)
    writers = np.array([d.writer for d in held_out])
    answers, rejected, probabilities = read(shipped, detector, x)
    figures["pendigits_held_out"] = accuracy(answers, rejected, y)
    if shipped.strokes is not None:  # as the page sends them: the picture and the pen's path
        vectors = pendigits.trajectories(held_out)
        _, with_path, _ = read(shipped, detector, x, list(vectors))
        with_strokes = combine(probabilities["fnn"], probabilities["cnn"],
                               strokes=shipped.strokes.predict_proba(vectors)).answer
        figures["pendigits_held_out_with_strokes"] = accuracy(with_strokes, with_path, y)
    for writer in sorted(pendigits.HELD_OUT_WRITERS):
        alone = writers == writer
        figures[f"pendigits_writer_{writer}"] = accuracy(answers[alone], rejected[alone], y[alone])
    if args.cross_validation:
        summary = json.loads((args.cross_validation / "summary.json").read_text())
        figures["cross_validation"] = {
            rule: {**{f"writers {fold['writers'][0]}–{fold['writers'][-1]}": fold["pendigits"][rule]
                      for fold in summary["folds"]}, "mean": summary["mean"][rule], "worst": summary["worst"][rule]}
            for rule in ("pair_rule", "with_strokes") if rule in summary["mean"]}

    data = mnist.load(args.mnist)
    answers, rejected, _ = read(shipped, detector, data.x_test.astype(np.float32) / 255.0)
    figures["mnist_test"] = accuracy(answers, rejected, data.y_test)

    symbols, images, strokes = zip(*nondigits.held_out_canvases(args.copies, args.seed), strict=True)
    symbol_x = np.stack([normalise(ink_map(image)) for image in images])
    figures["held_out_symbols"] = rejection_rates(symbols, read(shipped, detector, symbol_x)[1])
    if shipped.strokes is not None and detector.strokes is not None:  # else they are judged by the picture alone
        paths = [trajectory(s) for s in strokes]
        figures["held_out_symbols_with_strokes"] = rejection_rates(symbols, read(shipped, detector, symbol_x, paths)[1])

    step = max(1, len(held_out) // args.latency)
    drawings = [(pendigits.data_url(image), pendigits.page_strokes(digit.strokes))
                for digit, image in pendigits.canvas_drawings(held_out[::step][:args.latency])]
    figures["predict_latency"] = predict_latency(args.models, drawings)

    for name, value in figures.items():
        print(f"{name:22s} {json.dumps(value)}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
