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
from collections.abc import Callable, Iterable, Mapping, Sequence
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


def source(meta: Meta) -> str:
    """How the sample came: "correction" for samples stored before the field existed."""
    return meta.get("source") or "correction"


def status(meta: Meta) -> str:
    """What learning decided; "pending" until it has."""
    return meta.get("status") or PENDING


def thin(count: int, limit: int = MAX_POINTS) -> list[int]:
    """At most `limit` indices spread evenly over range(count), always keeping the last one."""
    if count <= limit:
        return list(range(count))
    step = (count - 1) / (limit - 1)
    return sorted({round(i * step) for i in range(limit)})


def hits(meta: Meta, models: Sequence[str] = MODEL_NAMES) -> dict[str, int | None]:
    """Per net (and "shown"): 1 when its answer was the label, 0 when not, None when it has no reading.
    Fixed when the sample arrives — it records what the nets said then."""
    found: dict[str, int | None] = {}
    for name in models:
        guess = top1(meta, name)
        found[name] = None if guess is None else int(guess == meta["label"])
    found["shown"] = int(not misread(meta))
    return found


def rate(right: int, seen: int) -> float | None:
    """A mean as the charts show it (4 decimals), None when nothing was seen."""
    return round(right / seen, 4) if seen else None


def curve_ranks(count: int, window: int = DEFAULT_WINDOW, limit: int = MAX_POINTS) -> list[int]:
    """The sample counts n whose running sums `curve` reads (0 = before the first sample), ascending:
    what a caller holding running sums elsewhere (app/samples/index.py) has to fetch."""
    ends = [i + 1 for i in thin(count, limit)]
    return sorted({0, count, max(0, count - window), *ends, *(max(0, n - window) for n in ends)})


def curve(count: int, sums: Callable[[str, int], tuple[int, int]], created: Callable[[int], str],
          window: int = DEFAULT_WINDOW, names: Sequence[str] = (*MODEL_NAMES, "shown"),
          limit: int = MAX_POINTS) -> dict[str, Any]:
    """The prequential figure from running sums: `sums(name, n)` is (right, seen) over the first n
    samples and `created(n)` the n-th sample's time, for every n in `curve_ranks`."""

    def mean(name: str, start: int, end: int) -> float | None:
        right_end, seen_end = sums(name, end)
        right_start, seen_start = sums(name, start)
        return rate(right_end - right_start, seen_end - seen_start)

    ends = [i + 1 for i in thin(count, limit)]
    return {
        "window": window,
        "count": count,
        "index": ends,
        "created": [created(n) for n in ends],
        "series": {name: [mean(name, max(0, n - window), n) for n in ends] for name in names},
        "overall": {name: mean(name, 0, count) for name in names},
        "recent": {name: mean(name, max(0, count - window), count) for name in names},
    }


def prequential(metas: Iterable[Meta], window: int = DEFAULT_WINDOW, models: Sequence[str] = MODEL_NAMES,
                limit: int = MAX_POINTS) -> dict[str, Any]:
    """Rolling top-1 accuracy of each net (and of the shown answer) over the samples in time order.

    `series[name][k]` is the accuracy over the `window` samples ending at sample `index[k]` (1-based:
    the n-th sample), or None where that net has no reading in the window. `overall` covers every
    sample, `recent` the last window.
    """
    ordered = live(metas)
    names = [*models, "shown"]
    right = {name: [0] for name in names}  # running sums, so each window's mean costs O(1)
    seen = {name: [0] for name in names}
    for meta in ordered:
        for name, hit in hits(meta, models).items():
            right[name].append(right[name][-1] + (hit or 0))
            seen[name].append(seen[name][-1] + (hit is not None))
    return curve(len(ordered), lambda name, n: (right[name][n], seen[name][n]), lambda n: ordered[n - 1]["created"],
                 window, names, limit)


Cell = tuple[int, str, int | None, str, bool]  # label, source, shown, status, consent: what every count below needs


def cell(meta: Meta) -> Cell:
    return meta["label"], source(meta), shown(meta), status(meta), bool(meta.get("consent"))


def cells(metas: Iterable[Meta]) -> Counter[Cell]:
    """Live samples counted by `cell`: per_digit, confusion and totals need nothing finer."""
    return Counter(cell(meta) for meta in live(metas))


def day_counts(metas: Iterable[Meta]) -> dict[str, Counter[str]]:
    """Live samples per UTC day and source."""
    counts: dict[str, Counter[str]] = {}
    for meta in live(metas):
        counts.setdefault(meta["created"][:10], Counter())[source(meta)] += 1
    return counts


def first_shown_day(last: str, max_days: int = MAX_DAYS) -> str:
    """The earliest day `per_day` can show when `last` is the newest day with data."""
    return (date.fromisoformat(last) - timedelta(days=max_days - 1)).isoformat()


def day_series(counts: Mapping[str, Mapping[str, int]], first: str, max_days: int = MAX_DAYS) -> list[dict[str, Any]]:
    """`per_day` from per-day counts that cover at least the last `max_days` days with data; `first` is the
    earliest day with data at all (which `counts` may leave out when it is older than that)."""
    if not counts:
        return []
    last = date.fromisoformat(max(counts))
    start = date.fromisoformat(max(first, first_shown_day(last.isoformat(), max_days)))
    days = []
    for offset in range((last - start).days + 1):
        day = (start + timedelta(days=offset)).isoformat()
        found = counts.get(day, {})
        days.append({"date": day, **{s: found.get(s, 0) for s in SOURCES}, "total": sum(found.values())})
    return days


def per_day(metas: Iterable[Meta], max_days: int = MAX_DAYS) -> list[dict[str, Any]]:
    """Samples stored per UTC day and source, every day from the first to the last (gaps as zeros),
    at most the last `max_days` of them."""
    counts = day_counts(metas)
    return day_series(counts, min(counts, default=""), max_days)


def digit_rows(counts: Mapping[Cell, int]) -> list[dict[str, Any]]:
    """`per_digit` from `cells` counts."""
    rows = {digit: Counter() for digit in DIGITS}
    for (label, came, answer, _, _), n in counts.items():
        rows[label][came] += n
        rows[label]["misread"] += n * (answer != label)
    return [{"digit": digit, **{s: rows[digit][s] for s in SOURCES}, "misread": rows[digit]["misread"],
             "total": sum(rows[digit][s] for s in SOURCES)} for digit in DIGITS]


def per_digit(metas: Iterable[Meta]) -> list[dict[str, Any]]:
    """Samples per label, split by source, with how many of them the nets misread."""
    return digit_rows(cells(metas))


def confusion_matrix(counts: Mapping[Cell, int]) -> dict[str, Any]:
    """`confusion` from `cells` counts."""
    matrix = [[0] * 11 for _ in DIGITS]
    for (label, _, answer, _, _), n in counts.items():
        matrix[label][10 if answer is None else answer] += n
    return {"rows": list(DIGITS), "columns": [*DIGITS, None], "matrix": matrix}


def confusion(metas: Iterable[Meta]) -> dict[str, Any]:
    """Counts of (label, shown answer): `matrix[label][column]`, where the columns are the digits 0–9
    and a last one for "not recognised" (nothing shown)."""
    return confusion_matrix(cells(metas))


def tally(counts: Mapping[Cell, int], people: int, first: str | None, last: str | None) -> dict[str, Any]:
    """`totals` from `cells` counts, the number of distinct clients and the first and last sample's time."""
    by_source: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    for (_, came, _, decided, _), n in counts.items():
        by_source[came] += n
        by_status[decided] += n
    return {
        "samples": sum(counts.values()),
        "misread": sum(n for (label, _, answer, _, _), n in counts.items() if answer != label),
        "consented": sum(n for (*_, consent), n in counts.items() if consent),
        "people": people,
        "by_source": {name: n for name, n in by_source.items() if n},
        "by_status": {name: by_status[name] for name in STATUSES},
        "first": first,
        "last": last,
    }


def totals(metas: Iterable[Meta]) -> dict[str, Any]:
    ordered = live(metas)
    return tally(cells(ordered), len({meta["client"] for meta in ordered if meta.get("client")}),
                 ordered[0]["created"] if ordered else None, ordered[-1]["created"] if ordered else None)


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

