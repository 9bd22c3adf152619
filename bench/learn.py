"""Does online learning help? A stream of drawn digits, test-then-train, through the real API.

    .venv/bin/python bench/learn.py [--limit N] [--json build/learn.json]

Held-out pendigits writers (never used in training), in writer order, each drawn like the page's
canvas and sent with its writer's anonymous id, as the page sends its browser's: predict, then
correct with the true label (local storage in a temporary folder). Prints:
- correction latency p50/p99;
- fix rate: of the drawings the online ensemble got wrong, the share it reads right right after
  their correction;
- prequential accuracy of the answer shown (the online ensemble, with each writer's own layer once
  it has one) vs the frozen shipped ensemble over the stream, overall and per half of the writers;
  also of the shared online pair alone;
- MNIST test accuracy of the online nets before and after the stream (forgetting);
- what /api/stats reports over the same stored samples, to check the stats page against this.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DIGITDRAW_LOG_LEVEL", "WARNING")
os.environ.setdefault("DIGITDRAW_RATE_LIMIT", "1000000/minute")  # one client sends everything

from app import create_app  # noqa: E402
from app.offline import mnist, pendigits  # noqa: E402
from app.offline.evaluation import ensemble_accuracies  # noqa: E402
from app.reading.ensemble import decide  # noqa: E402
from app.runtime import ensemble  # noqa: E402

SHARED = ROOT.parent / "shared"


def pair_answer(models: dict, names: tuple[str, str] = ("fnn", "cnn")) -> int:
    """A pair's answer under the served rule (`decide`), from their top-1s in the response (shipped pair by default)."""
    (a, pa), (b, pb) = models[names[0]]["top3"][0], models[names[1]]["top3"][0]
    first, second = np.full((1, 10), (1 - pa) / 9), np.full((1, 10), (1 - pb) / 9)
    first[0, a], second[0, b] = pa, pb
    return int(decide(first, second)[0][0])


def stream(limit: int | None) -> list[pendigits.PenDigit]:
    digits = pendigits.held_out(pendigits.parse(SHARED / "pendigits" / "pendigits-orig.tra"))
    ordered = sorted(digits, key=lambda d: d.writer)  # stable: each writer's own order is kept
    return ordered[:limit] if limit else ordered


def halves(digits: list[pendigits.PenDigit], right: dict[str, list[bool]]) -> dict[str, dict[str, float]]:
    """Prequential accuracy per half of the writers: a gain should hold for both, not ride on a few."""
    writers = sorted({d.writer for d in digits})
    result = {}
    for half in (writers[: len(writers) // 2], writers[len(writers) // 2 :]):
        if half:
            mask = np.array([d.writer in half for d in digits])
            result[f"writers {half[0]}–{half[-1]}"] = {name: round(float(np.mean(np.array(hits)[mask])), 4)
                                                      for name, hits in right.items()}
    return result


def mnist_accuracy(app, data: mnist.Mnist) -> dict[str, float]:
    with app.app_context():
        figures = ensemble_accuracies(ensemble(), data.x_test.astype(np.float32) / 255.0, data.y_test)
    return {k: figures[k] for k in ("fnn", "cnn", "fnn_online", "cnn_online", "ensemble")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N digits of the stream")
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    args = parser.parse_args()

    data = mnist.load(SHARED / "mnist")
    with tempfile.TemporaryDirectory() as var:
        app = create_app({"DATA_DIR": var})
        client = app.test_client()
        before = mnist_accuracy(app, data)
        wrong = fixed = learned = 0
        right: dict[str, list[bool]] = {"online": [], "online_pair": [], "frozen": []}
        latencies = []
        digits = stream(args.limit)
        for i, digit in enumerate(digits):
            url = pendigits.data_url(pendigits.render(pendigits.fit_to_canvas(digit.strokes)))
            person = f"pendigits-writer-{digit.writer}"
            shown = client.post("/api/predict", json={"image": url, "person": person}).get_json()
            right["online"].append(shown["answer"] == digit.label)
            right["online_pair"].append(pair_answer(shown["models"], ("fnn_online", "cnn_online")) == digit.label)
            right["frozen"].append(pair_answer(shown["models"]) == digit.label)
            start = time.perf_counter()
            reply = client.post("/api/correct", json={
                "image": url, "label": digit.label, "predicted": shown["answer"], "consent": True, "person": person,
            }).get_json()
            latencies.append(time.perf_counter() - start)
            learned += reply["learned"]
            if shown["answer"] != digit.label:
                wrong += 1
                fixed += reply["after"]["answer"] == digit.label
            if (i + 1) % 500 == 0:
                print(f"{i + 1}/{len(digits)}: online {np.mean(right['online']):.4f} "
                      f"frozen {np.mean(right['frozen']):.4f}", file=sys.stderr)
        after = mnist_accuracy(app, data)
        stats_page = client.get("/api/stats").get_json()["prequential"]["overall"]
    ms = np.array(latencies) * 1000
    n = len(digits)
    report = {
        "stream": f"{n} held-out pendigits (writers {min(d.writer for d in digits)}–{max(d.writer for d in digits)})",
        "correction_latency_ms": {"p50": round(float(np.percentile(ms, 50)), 1),
                                  "p99": round(float(np.percentile(ms, 99)), 1)},
        "updates_accepted": learned,
        "online_wrong": wrong,
        "fix_rate": round(fixed / wrong, 4) if wrong else None,
        "prequential_accuracy": {name: round(float(np.mean(hits)), 4) for name, hits in right.items()},
        "prequential_by_writers": halves(digits, right),
        "stats_page_prequential": stats_page,  # /api/stats over the samples this stream stored
        "mnist_test_before": before,
        "mnist_test_after": after,
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
