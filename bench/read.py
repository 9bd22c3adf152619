"""How well are numbers read? Numbers composed from held-out pendigits writers, read in-process.

    .venv/bin/python bench/read.py [--numbers 500] [--seed 14] [--writers held-out|train] [--json build/read.json]

Each number is 2–6 digits of held-out writers (25–30, never trained on), drawn left to right on an
840×280 canvas (3:1) with `pendigits.compose_number`: each digit 45–65 % of the height tall, the
baseline jittered by ±5 %, and gaps of 15–60 % of the digit height ("spaced") or −4 to +6 % ("tight":
boxes overlap and the ink, a brush of pendigits.BRUSH_FRACTION of the canvas *height* as the page's
wide canvas would draw it, nearly always touches). Rendered with pendigits.render, read with
app.reading.numbers from the image alone and with the strokes (x as a fraction of the width, y of
the height). Prints, per condition:
- exact: the share of numbers read exactly (every digit, no digit missing or extra);
- errors: the numbers read wrong, by what went wrong: too_many digits (a digit cut in pieces), too_few
  (two digits read as one) or misread (as many digits, some wrong);
- per_digit: 1 − edit distance / length, summed over numbers (a dropped digit costs one, not the rest);
- the ceiling: the same figures when each digit is read alone from its own drawing (segmentation
  given), so what segmentation loses is told apart from what the nets misread anyway;
- latency p50/p99 of reading a spaced 4-digit number, image alone and with strokes, against a
  single-digit predict (ink map, normalise, the four nets) of the same writers, same run and Ensemble; and the
  same through the API in-process (`api_latency`: /api/read against /api/predict, each as its page sends it).
Seeded: the same arguments give the same numbers. `--writers train` composes the numbers from the
training writers (1–24) instead, and `--fold K` those of cross-validation fold K read with that fold's nets
(writers no net reading them saw): what the shape priors of app.reading.numbers are tuned on, never
what is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

# as the app serves (app/__init__.py), set before NumPy loads: BLAS threads on a busy machine cost a predict 5×
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.offline import pendigits  # noqa: E402
from app.offline.crossval import FOLDS, fold_folder  # noqa: E402
from app.reading.ensemble import Ensemble  # noqa: E402
from app.reading.imaging import ink_map, normalise  # noqa: E402
from app.reading.model_files import load_for_serving, load_strokes  # noqa: E402
from app.reading.numbers import read_number  # noqa: E402
from bench.predict import percentiles, timed  # noqa: E402  (one way to time things across the benches)

HEIGHT, WIDTH = pendigits.CANVAS, 3 * pendigits.CANVAS
GAPS = {"spaced": (0.15, 0.60), "tight": (-0.04, 0.06)}


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: digits dropped, added or misread.

    >>> edit_distance("2026", "226"), edit_distance("12", "12"), edit_distance("7", "71")
    (1, 0, 1)
    """
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, start=1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]


def error_kind(truth: str, read: str) -> str:
    """What went wrong with a number read as `read`: too_many or too_few digits, or misread.

    >>> error_kind("2026", "20126"), error_kind("2026", "226"), error_kind("2026", "2028")
    ('too_many', 'too_few', 'misread')
    """
    return "too_many" if len(read) > len(truth) else "too_few" if len(read) < len(truth) else "misread"


class Tally:
    """Exact-number and per-digit accuracy over a run, and what went wrong with the numbers read wrong."""

    def __init__(self) -> None:
        self.numbers = self.exact = self.digits = self.wrong = 0
        self.errors = dict.fromkeys(("too_many", "too_few", "misread"), 0)

    def add(self, truth: str, read: str | None) -> None:
        read = read or ""
        self.numbers += 1
        self.exact += read == truth
        self.digits += len(truth)
        self.wrong += min(len(truth), edit_distance(truth, read))
        if read != truth:
            self.errors[error_kind(truth, read)] += 1

    def report(self) -> dict[str, object]:
        return {"exact": round(self.exact / self.numbers, 4), "per_digit": round(1 - self.wrong / self.digits, 4),
                "errors": self.errors}


def in_fractions(number: list[list[pendigits.Stroke]]) -> list[list[tuple[float, float]]]:
    """Strokes as the API takes them from a wide canvas: x a fraction of the width, y of the height."""
    return [[(x / WIDTH, y / HEIGHT) for x, y in stroke] for digit in number for stroke in digit]


def draw(number: list[list[pendigits.Stroke]]) -> Image.Image:
    return pendigits.render([stroke for digit in number for stroke in digit], HEIGHT, width=WIDTH)


def api_latency(models: Path, singles: list[pendigits.PenDigit], fours: list[tuple[Image.Image, list]],
                timings: int) -> dict[str, object]:
    """What the issue's budget is about: `POST /api/read` of a spaced 4-digit number against `POST /api/predict`
    of one digit, in-process (Flask test client, learning off), each as its page sends it (picture and strokes)
    or from the picture alone, taking turns request by request so all four see the same machine."""
    from app import create_app

    with tempfile.TemporaryDirectory() as scratch:
        client = create_app({"MODEL_DIR": models, "DATA_DIR": Path(scratch), "LEARNING": False, "LEARNER": "process",
                             "RATE_LIMIT": "1000000/minute"}).test_client()
        single = [(pendigits.data_url(image), pendigits.page_strokes(digit.strokes))
                  for digit, image in pendigits.canvas_drawings(singles)]
        four = [(pendigits.data_url(image), [[[x * WIDTH, y * HEIGHT, 16 * i] for i, (x, y) in enumerate(stroke)]
                                             for stroke in strokes]) for image, strokes in fours]
        calls = {"predict_image": ("/api/predict", single, False), "predict_strokes": ("/api/predict", single, True),
                 "read_four_image": ("/api/read", four, False), "read_four_strokes": ("/api/read", four, True)}
        seconds: dict[str, list[float]] = {name: [] for name in calls}
        for n in range(timings + 10):  # the first 10: warm-up
            for name, (path, bodies, with_strokes) in calls.items():
                url, strokes = bodies[n % len(bodies)]
                start = time.perf_counter()
                reply = client.post(path, json={"image": url, **({"strokes": strokes} if with_strokes else {})})
                assert reply.status_code == 200, reply.get_json()
                if n >= 10:
                    seconds[name].append(time.perf_counter() - start)
    figures: dict[str, object] = {name: percentiles(times) for name, times in seconds.items()}
    for sent in ("image", "strokes"):
        figures[f"read_four_{sent}_p50_over_predict"] = round(
            figures[f"read_four_{sent}"]["p50_ms"] / figures[f"predict_{sent}"]["p50_ms"], 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=500, help="numbers per condition")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--timings", type=int, default=200, help="reads timed per latency figure")
    parser.add_argument("--writers", choices=("held-out", "train"), default="held-out",
                        help="compose numbers from the held-out writers (25–30) or, to tune on, the training ones")
    parser.add_argument("--fold", type=int, default=None,
                        help="to tune on writers no net saw: read with cross-validation fold K's nets (from "
                             "--cross-validation) the numbers of the writers that fold left out")
    parser.add_argument("--cross-validation", type=Path, default=ROOT / "build" / "cross-validation")
    parser.add_argument("--picture-nets-only", action="store_true",
                        help="leave the strokes net out (digits made of whole strokes are read by it too otherwise)")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()

    writers = pendigits.HELD_OUT_WRITERS if args.writers == "held-out" else pendigits.TRAIN_WRITERS
    models = ROOT / "models"
    if args.fold is not None:
        writers, models = FOLDS[args.fold - 1], fold_folder(args.cross_validation, args.fold)
    digits = [d for d in pendigits.parse() if d.writer in writers]
    ensemble = Ensemble.from_shipped(*load_for_serving(models))
    ensemble.strokes = None if args.picture_nets_only else load_strokes(models)
    rng = np.random.default_rng(args.seed)
    report: dict[str, object] = {"numbers_per_condition": args.numbers, "seed": args.seed,
                                 "canvas": f"{WIDTH}×{HEIGHT}",
                                 "writers": f"{min(writers)}–{max(writers)}", "models": str(models)}
    for mode, gaps in GAPS.items():
        tallies = {"image": Tally(), "strokes": Tally(), "ceiling": Tally()}
        for _ in range(args.numbers):
            picks = [digits[i] for i in rng.choice(len(digits), rng.integers(2, 7))]
            truth = "".join(str(d.label) for d in picks)
            number = pendigits.compose_number(picks, rng, gaps, HEIGHT, WIDTH)
            image = draw(number)
            tallies["image"].add(truth, read_number(ensemble, image).text)
            tallies["strokes"].add(truth, read_number(ensemble, image, in_fractions(number)).text)
            alone = ensemble.answers(np.stack([normalise(ink_map(draw([digit]))) for digit in number]))
            tallies["ceiling"].add(truth, "".join(str(a) if a >= 0 else "?" for a in alone.answer))
        report[mode] = {name: tally.report() for name, tally in tallies.items()}

    fours = []
    for _ in range(50):
        picks = [digits[i] for i in rng.choice(len(digits), 4)]
        number = pendigits.compose_number(picks, rng, GAPS["spaced"], HEIGHT, WIDTH)
        fours.append((draw(number), in_fractions(number)))
    singles = [image for _, image in pendigits.canvas_drawings(digits[:50])]
    latency = {
        "single_digit_predict": percentiles(timed(
            lambda i: ensemble.predict(normalise(ink_map(singles[i % 50]))), args.timings)),
        "four_digits_image": percentiles(timed(lambda i: read_number(ensemble, fours[i % 50][0]), args.timings)),
        "four_digits_strokes": percentiles(timed(lambda i: read_number(ensemble, *fours[i % 50]), args.timings)),
    }
    single = latency["single_digit_predict"]["p50_ms"]
    for name in ("four_digits_image", "four_digits_strokes"):
        latency[name]["p50_over_single"] = round(latency[name]["p50_ms"] / single, 2)
    report["latency"] = latency
    report["api_latency"] = api_latency(models, digits[:50], fours, args.timings)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
