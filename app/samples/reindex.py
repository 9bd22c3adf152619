"""The sample index rebuilt, repaired and checked from storage alone, the store of record.

Storage holds every sample's JSON, so the index can always be made again from it: after a crash
between a sample's storage write and its index write, after the database was down, when moving to
PostgreSQL, or for a dataset stored before the index existed. `reindex` replays every stored JSON
through `SampleIndex.put_many` in id order (so each row lands where it belongs and running sums stay
cheap), fetching objects concurrently because S3 answers each GET in tens of milliseconds. Replaying is
idempotent: a second run changes nothing.

`recent_drift` is the cheap check start-up makes: it lists only the newest days' folders, not the whole
bucket, and says which stored samples the index lacks.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from app.samples.index import SampleIndex
from app.samples.storage import fetch_many
from app.samples.store import PREFIX, SampleStore, sample_id

CHUNK = 500  # samples per index transaction


@dataclass(frozen=True)
class Report:
    indexed: int  # stored samples now in the index
    orphans: list[str]  # ids in the index whose JSON is not in storage (reported, never guessed at)


def reindex(store: SampleStore, index: SampleIndex, progress: Callable[[int], None] = lambda _: None) -> Report:
    """Put every stored sample in the index (inserting what is missing, replacing what differs); `progress`
    is told how many samples each chunk held."""
    keys = store.json_keys()
    indexed = 0
    batch: list[dict] = []
    for _, data in fetch_many(store.storage, keys):
        if data is None:  # deleted meanwhile
            continue
        batch.append(json.loads(data))
        if len(batch) == CHUNK:
            indexed += index.put_many(batch)
            progress(len(batch))
            batch = []
    if batch:
        indexed += index.put_many(batch)
        progress(len(batch))
    index.analyze()  # the planner's statistics, for what may have been a bulk load
    stored = {sample_id(key) for key in keys}
    return Report(indexed, [found for found in index.ids() if found not in stored])


def recent_drift(store: SampleStore, index: SampleIndex) -> list[str]:
    """Ids stored on the index's newest day or today (UTC) that the index lacks: 20 small listings at most."""
    newest = index.extent()["max_id"]
    days = {datetime.now(UTC).date().isoformat()}
    if newest:
        days.add(f"{newest[:4]}-{newest[4:6]}-{newest[6:8]}")
    missing: list[str] = []
    for day in sorted(days):
        indexed = set(index.ids(day))
        for label in range(10):
            missing += [sample_id(key) for key in store.json_keys(f"{PREFIX}{label}/{day}/")
                        if sample_id(key) not in indexed]
    return sorted(missing)
