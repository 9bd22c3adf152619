"""Read-path timings of the sample index at 100,000 samples (a measurement, not a test).

usage: .venv/bin/python -m bench.index URL [URL ...]   e.g. sqlite:////tmp/bench.db postgresql://postgres@127.0.0.1:5432/x
Bulk-loads the samples with put_many (the path reindex takes), tombstones 0.2 % of them, then times each
read 50 times and prints p50/p99 in ms. The samples come from tests/test_index.py's generator.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from app.samples.index import SampleIndex
from tests.test_index import delete, make_metas

COUNT = 100_000
RUNS = 50


def timed(call: Callable[[], Any]) -> tuple[float, float]:
    call()  # warm caches, as a running server's would be
    spent = []
    for _ in range(RUNS):
        start = time.perf_counter()
        call()
        spent.append((time.perf_counter() - start) * 1000)
    spent.sort()
    return statistics.median(spent), spent[min(len(spent) - 1, round(0.99 * len(spent)))]


def measure(index: SampleIndex) -> None:
    cursor = index.page(everyone=True, page=1999)["next"]
    reads: dict[str, Callable[[], Any]] = {
        "summary(50)": lambda: index.summary(50),
        "summary(1000)": lambda: index.summary(1000),
        "page(1)": lambda: index.page(),
        "page(2000)": lambda: index.page(page=2000, everyone=True),
        "page(2000, before=cursor)": lambda: index.page(before=cursor, everyone=True),
        "page(label=3, page=200)": lambda: index.page(label=3, page=200),
        "page(misread, collection, 50)": lambda: index.page(misread=True, source="collection", page=50),
        "counts()": index.counts,
    }
    for name, call in reads.items():
        p50, p99 = timed(call)
        print(f"{index.backend}: {name:32s} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms")


def main(urls: list[str]) -> None:
    rng = random.Random(0)
    metas = sorted(make_metas(rng, COUNT, days=336), key=lambda meta: meta["id"])  # as storage replays them
    for url in urls:
        index = SampleIndex(url)
        index.migrate()
        start = time.perf_counter()
        for chunk in range(0, COUNT, 10_000):
            index.put_many(metas[chunk:chunk + 10_000])
        print(f"{index.backend}: bulk load {COUNT} in {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        index.put_many(delete(meta) for meta in rng.sample(metas, COUNT // 500))
        print(f"{index.backend}: {COUNT // 500} tombstones in {time.perf_counter() - start:.2f} s")
        start = time.perf_counter()
        index.put(metas[-1] | {"status": "learned"})
        print(f"{index.backend}: one put (status rewrite) {1000 * (time.perf_counter() - start):.1f} ms")
        measure(index)
        index.close()


if __name__ == "__main__":
    main(sys.argv[1:])
