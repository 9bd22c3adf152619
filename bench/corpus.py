"""A seeded crowd dataset for the benchmarks: sample JSON as /api/correct writes it, and the drawings.

Fast enough for 100,000 samples in a few seconds: the drawings are a few hundred pendigits digits
(real pen strokes, rendered as the page's canvas draws them, stored as fractions of the canvas with
times) shared by reference between the samples of one label, so memory holds each drawing once.
Ids and times increase over `days` days at an uneven daily rate, so the samples come out in id order,
the order storage replays them in (and the order `SampleIndex.put_many` wants).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.offline import pendigits
from app.reading.ensemble import MODEL_NAMES
from app.reading.imaging import png_bytes
from app.samples.storage import Storage
from app.samples.store import STATUSES, sample_key

START = datetime(2025, 3, 1, tzinfo=UTC)
VARIANTS = 24  # drawings per label
SOURCES = {"correction": 0.55, "confirmation": 0.3, "collection": 0.15}
STATUS_WEIGHTS = {"learned": 0.72, "quarantined": 0.04, "not_learned": 0.1, "pending": 0.14}
DELETED = 0.003  # tombstones: deleted by the admin (strokes dropped, PNG removed, JSON kept)
assert set(STATUS_WEIGHTS) == set(STATUSES)


@dataclass(frozen=True)
class Drawing:
    strokes: list[list[list[float]]]  # [[x, y, t], ...] per stroke, x and y fractions of the canvas, t in ms
    png: bytes


def drawings(seed: int) -> dict[int, list[Drawing]]:
    """VARIANTS pendigits drawings per label (held-out writers), as the page would have sent them."""
    rng = random.Random(seed)
    by_label: dict[int, list[pendigits.PenDigit]] = {}
    for digit in pendigits.held_out(pendigits.parse()):
        by_label.setdefault(digit.label, []).append(digit)
    found: dict[int, list[Drawing]] = {}
    for label, digits in sorted(by_label.items()):
        found[label] = []
        for digit in rng.sample(digits, VARIANTS):
            strokes = pendigits.fit_to_canvas(digit.strokes)
            clock, pen = 0, []
            for stroke in strokes:
                pen.append([[round(x / pendigits.CANVAS, 4), round(y / pendigits.CANVAS, 4), (clock := clock + 16)]
                            for x, y in stroke])
                clock += 180
            found[label].append(Drawing(pen, png_bytes(pendigits.render(strokes))))
    return found


def _top3(rng: random.Random, label: int, right: float) -> dict[str, Any]:
    guess = label if rng.random() < right else rng.randrange(10)
    first = round(rng.uniform(0.45, 0.999), 4)
    second = round((1 - first) * rng.uniform(0.5, 0.9), 4)
    return {"top3": [[guess, first], [(guess + 3) % 10, second], [(guess + 7) % 10, round(1 - first - second, 4)]]}


def metas(count: int, seed: int, days: int = 365,
          library: dict[int, list[Drawing]] | None = None) -> Iterator[tuple[dict[str, Any], Drawing]]:
    """`count` samples in id order over `days` days, each with its drawing."""
    rng = random.Random(seed)
    library = library or drawings(seed)
    clients = [hashlib.sha256(f"client{i}".encode()).hexdigest()[:16] for i in range(max(10, count // 30))]
    people = [hashlib.sha256(f"person{i}".encode()).hexdigest()[:32] for i in range(max(5, count // 200))]
    # an uneven rate: some days busy, some quiet, the mean gap spreading `count` over `days`
    weights = [rng.uniform(0.2, 1.8) for _ in range(days)]
    per_day = [max(1, round(count * w / sum(weights))) for w in weights]
    sources, source_p = list(SOURCES), list(SOURCES.values())
    statuses, status_p = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    made = 0
    for day, n in enumerate(per_day):
        if made == count:
            break
        n = min(n, count - made) if day < days - 1 else count - made
        seconds = sorted(rng.randrange(86_400_000_000) for _ in range(n))
        for micro in seconds:
            when = START + timedelta(days=day, microseconds=micro)
            label = rng.randrange(10)
            drawing = rng.choice(library[label])
            source = rng.choices(sources, source_p)[0]
            models = {name: _top3(rng, label, 0.97 if "cnn" in name else 0.93) for name in MODEL_NAMES}
            answer = None if rng.random() < 0.03 else models["cnn_online"]["top3"][0][0]
            version = 1 + made * 400 // count
            status = rng.choices(statuses, status_p)[0]
            meta = {
                "id": when.strftime("%Y%m%dT%H%M%S%fZ") + f"-{rng.getrandbits(32):08x}",
                "created": when.isoformat(timespec="milliseconds"),
                "label": label,
                "source": source,
                "predicted": None if source == "collection" else (label if rng.random() < 0.8 else rng.randrange(10)),
                "answer": answer,
                "models": models,
                "model_version": {"fnn_online": version, "cnn_online": version},
                "client": rng.choice(clients),
                "person": rng.choice(people) if rng.random() < 0.3 else None,
                "canvas": {"width": pendigits.CANVAS, "height": pendigits.CANVAS},
                "strokes": drawing.strokes,
                "consent": rng.random() < 0.6,
                "status": status,
                "reason": {"learned": "accepted", "quarantined": "canary accuracy fell",
                           "not_learned": "learning is off", "pending": None}[status],
                "learned_version": version if status == "learned" else None,
            }
            if rng.random() < DELETED:
                meta |= {"deleted": True, "deleted_at": (when + timedelta(days=1)).isoformat(timespec="milliseconds"),
                         "strokes": None}
            made += 1
            yield meta, drawing


def store(storage: Storage, samples: list[tuple[dict[str, Any], Drawing]], threads: int = 16) -> None:
    """Write each sample in today's layout (PNG first, then JSON; a tombstone has no PNG), concurrently."""

    def put(sample: tuple[dict[str, Any], Drawing]) -> None:
        meta, drawing = sample
        if not meta.get("deleted"):
            storage.put(sample_key(meta, "png"), drawing.png, "image/png")
        storage.put(sample_key(meta, "json"), json.dumps(meta, separators=(",", ":")).encode(), "application/json")

    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(put, samples):
            pass


def write_folder(root: Path, samples: list[tuple[dict[str, Any], Drawing]]) -> None:
    """The same layout written straight to disk under `root` (what LocalStorage(root) reads), without
    LocalStorage's per-key locks and atomic renames: a fixture, not the app's write path."""
    made: set[Path] = set()
    for meta, drawing in samples:
        png, body = root / sample_key(meta, "png"), root / sample_key(meta, "json")
        if png.parent not in made:
            png.parent.mkdir(parents=True, exist_ok=True)
            made.add(png.parent)
        if not meta.get("deleted"):
            png.write_bytes(drawing.png)
        body.write_bytes(json.dumps(meta, separators=(",", ":")).encode())
