"""Figures about the crowd dataset and the learning nets, as pure functions over sample metadata.

Every function takes the metadata dicts `app.samples.store.SampleStore.all()` yields (see app/samples/store.py
and app/web/api.py `correct` for the fields) and returns plain JSON-ready values, so the figures are
unit-tested on hand-built metadata and the API only has to read the store once per request.
Deleted samples (`deleted: true`) never count.

Prequential ("test, then train") accuracy: each stored sample was read by all four nets *before*
it taught the online pair, and its metadata keeps what each net answered then. Walking the samples
in time order and asking "was this net's top-1 the label?" measures every net on drawings it had
not yet learned from — the honest learning curve of an online learner. Shown as a rolling mean
over the last `window` samples.

>>> meta = {"id": "20260101T120000000000Z-0a1b2c3d", "created": "2026-01-01T12:00:00.000+00:00",
...         "label": 3, "predicted": 5, "models": {"fnn": {"top3": [[3, 0.6]]}, "cnn": {"top3": [[5, 0.9]]}}}
>>> prequential([meta], window=10, models=("fnn", "cnn"))["overall"]
{'fnn': 1.0, 'cnn': 0.0, 'shown': 0.0}
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from app.reading.ensemble import MODEL_NAMES
from app.samples.store import PENDING, SOURCES, STATUSES, is_live

Meta = Mapping[str, Any]

DEFAULT_WINDOW = 50
MAX_POINTS = 400  # longest series a chart receives; longer histories are thinned evenly
MAX_DAYS = 90  # the per-day series covers at most the last 90 days that have data
DIGITS = tuple(range(10))


def live(metas: Iterable[Meta]) -> list[Meta]:
    """Samples that count (not deleted), oldest first: ids start with their UTC time, so they sort by it."""
    return sorted(filter(is_live, metas), key=lambda m: m["id"])


def shown(meta: Meta) -> int | None:
    """The answer the person saw: `predicted` when the page sent it, else the online ensemble's answer
    at the time (collection mode shows none); None when nothing was recognised."""
    value = meta.get("predicted")
    return meta.get("answer") if value is None else value


def misread(meta: Meta) -> bool:
    """Whether the nets' answer (as shown) was not the label; "not recognised" counts as misread."""
    return shown(meta) != meta["label"]


def top1(meta: Meta, model: str) -> int | None:
    """A net's best guess when the sample arrived, or None when the metadata lacks it."""
    try:
        return int(meta["models"][model]["top3"][0][0])
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def _thin(count: int, limit: int = MAX_POINTS) -> list[int]:
    """At most `limit` indices spread evenly over range(count), always keeping the last one."""
    if count <= limit:
        return list(range(count))
    step = (count - 1) / (limit - 1)
    return sorted({round(i * step) for i in range(limit)})


def prequential(metas: Iterable[Meta], window: int = DEFAULT_WINDOW, models: Sequence[str] = MODEL_NAMES,
                limit: int = MAX_POINTS) -> dict[str, Any]:
    """Rolling top-1 accuracy of each net (and of the shown answer) over the samples in time order.

    `series[name][k]` is the accuracy over the `window` samples ending at sample `index[k]` (1-based:
    the n-th sample), or None where that net has no reading in the window. `overall` covers every
    sample, `recent` the last window.
    """
    ordered = live(metas)
    names = [*models, "shown"]
    hits: dict[str, list[int | None]] = {name: [] for name in names}
    for meta in ordered:
        for name in models:
            guess = top1(meta, name)
            hits[name].append(None if guess is None else int(guess == meta["label"]))
        hits["shown"].append(int(not misread(meta)))

    keep = _thin(len(ordered), limit)
    series: dict[str, list[float | None]] = {}
    overall: dict[str, float | None] = {}
    recent: dict[str, float | None] = {}
    for name in names:
        right, seen = [0], [0]  # running sums, so each window's mean costs O(1)
        for hit in hits[name]:
            right.append(right[-1] + (hit or 0))
            seen.append(seen[-1] + (hit is not None))

        def mean(start: int, end: int, right: list[int] = right, seen: list[int] = seen) -> float | None:
            count = seen[end] - seen[start]
            return round((right[end] - right[start]) / count, 4) if count else None

        series[name] = [mean(max(0, i + 1 - window), i + 1) for i in keep]
        overall[name] = mean(0, len(ordered))
        recent[name] = mean(max(0, len(ordered) - window), len(ordered))
    return {
        "window": window,
        "count": len(ordered),
        "index": [i + 1 for i in keep],
        "created": [ordered[i]["created"] for i in keep],
        "series": series,
        "overall": overall,
        "recent": recent,
    }


def per_day(metas: Iterable[Meta], max_days: int = MAX_DAYS) -> list[dict[str, Any]]:
    """Samples stored per UTC day and source, every day from the first to the last (gaps as zeros),
    at most the last `max_days` of them."""
    counts: dict[str, Counter[str]] = {}
    for meta in live(metas):
        counts.setdefault(meta["created"][:10], Counter())[meta.get("source", "correction")] += 1
    if not counts:
        return []
    last = date.fromisoformat(max(counts))
    first = max(date.fromisoformat(min(counts)), last - timedelta(days=max_days - 1))
    days = []
    for offset in range((last - first).days + 1):
        day = (first + timedelta(days=offset)).isoformat()
        found = counts.get(day, Counter())
        days.append({"date": day, **{source: found[source] for source in SOURCES}, "total": sum(found.values())})
    return days


def per_digit(metas: Iterable[Meta]) -> list[dict[str, Any]]:
    """Samples per label, split by source, with how many of them the nets misread."""
    rows = {digit: Counter() for digit in DIGITS}
    for meta in live(metas):
        row = rows[meta["label"]]
        row[meta.get("source", "correction")] += 1
        row["misread"] += misread(meta)
    return [{"digit": digit, **{s: rows[digit][s] for s in SOURCES}, "misread": rows[digit]["misread"],
             "total": sum(rows[digit][s] for s in SOURCES)} for digit in DIGITS]


def confusion(metas: Iterable[Meta]) -> dict[str, Any]:
    """Counts of (label, shown answer): `matrix[label][column]`, where the columns are the digits 0–9
    and a last one for "not recognised" (nothing shown)."""
    matrix = [[0] * 11 for _ in DIGITS]
    for meta in live(metas):
        answer = shown(meta)
        matrix[meta["label"]][10 if answer is None else answer] += 1
    return {"rows": list(DIGITS), "columns": [*DIGITS, None], "matrix": matrix}


def totals(metas: Iterable[Meta]) -> dict[str, Any]:
    ordered = live(metas)
    status = Counter(meta.get("status", PENDING) for meta in ordered)
    return {
        "samples": len(ordered),
        "misread": sum(misread(meta) for meta in ordered),
        "consented": sum(bool(meta.get("consent")) for meta in ordered),
        "people": len({meta["client"] for meta in ordered if meta.get("client")}),
        "by_source": dict(Counter(meta.get("source", "correction") for meta in ordered)),
        "by_status": {name: status[name] for name in STATUSES},
        "first": ordered[0]["created"] if ordered else None,
        "last": ordered[-1]["created"] if ordered else None,
    }


def versions(current: int, latest: int, records: Sequence[Meta], floor: Mapping[str, Mapping[str, float]],
             baseline: int = 0) -> dict[str, Any]:
    """The online pair's version history as kept in the manifest, with each version's canary reading,
    and the shipped nets' reading (the floor the guard measures against)."""
    kept = [{"version": r["version"], "parent": r.get("parent"), "label": r.get("label"),
             "sample_id": r.get("sample_id"), "canary": r.get("canary", {})} for r in records]
    current_record = next((r for r in kept if r["version"] == current), None)
    return {
        "current": current,
        "latest": latest,
        "baseline": {"version": baseline, "canary": dict(floor)},
        "current_canary": dict(floor) if current == baseline else (current_record or {}).get("canary", {}),
        "kept": kept,
    }


def summary(metas: Iterable[Meta], window: int = DEFAULT_WINDOW) -> dict[str, Any]:
    """Everything /api/stats shows that comes from the samples alone."""
    ordered = live(metas)
    return {
        "totals": totals(ordered),
        "prequential": prequential(ordered, window),
        "per_day": per_day(ordered),
        "per_digit": per_digit(ordered),
        "confusion": confusion(ordered),
    }

