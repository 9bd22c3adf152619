"""The crowd dataset: every labelled drawing as it arrived, with what the models said at the time.

Layout (either backend): `samples/<label>/<YYYY-MM-DD>/<id>.png` and `<id>.json`. The PNG is written
first and the JSON last, so a sample whose JSON exists is complete; the JSON is rewritten once more
when learning has decided what to do with it (`status`). A drawing of a number whose digits could not
be told apart is kept whole, for later training, as `numbers/<YYYY-MM-DD>/<id>.png` and `.json` (its
label is the digit string): written the same way, but not indexed, since the index holds single digits.

When the store is unreachable (S3 down) a sample is written to a spool on local disk instead —
durably, with the same keys — and copied to the store, oldest first, once it answers again.

Storage is the store of record. Each write is then put in the sample index (app/samples/index.py), which
pages, filters and figures read instead of every JSON; when the database cannot be written the sample is
still stored, the write says so (`indexed: false`), and it is indexed again by a later retry, or by
`flask --app app reindex`, which rebuilds the index from storage alone.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError

from app.samples.storage import NotFound, Storage, StorageUnavailable, fetch_many

log = logging.getLogger(__name__)

PREFIX = "samples/"
NUMBERS = "numbers/"
SPOOLED = (PREFIX, NUMBERS)  # what the spool may hold
# "number": one digit of a corrected number (app.online.numbers), cut out of its drawing
SOURCES = ("correction", "confirmation", "collection", "number")
# a sample's `status`: pending until learning has run; then learned, quarantined (the guard refused
# the step: possibly mislabelled) or not_learned (learning could not run: off, busy, store down)
LEARNED, QUARANTINED, NOT_LEARNED, PENDING = "learned", "quarantined", "not_learned", "pending"
STATUSES = (LEARNED, QUARANTINED, NOT_LEARNED, PENDING)

Meta = Mapping[str, Any]


def is_live(meta: Meta) -> bool:
    """Whether the sample counts anywhere: a deleted one is a tombstone kept for the audit trail only."""
    return not meta.get("deleted")


def is_public(meta: Meta) -> bool:
    """Whether anyone may see the drawing: its author consented, and it is not deleted."""
    return bool(meta.get("consent")) and is_live(meta)


def is_exportable(meta: Meta) -> bool:
    """Whether the drawing goes into the training arrays: public, and not refused by the learning guard."""
    return is_public(meta) and meta.get("status") != QUARANTINED


def new_id(now: datetime) -> str:
    """Sortable by time, unique across workers without coordination."""
    return now.strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(4)


def sample_key(meta: dict[str, Any], extension: str) -> str:
    return f"{PREFIX}{meta['label']}/{meta['created'][:10]}/{meta['id']}.{extension}"


def number_key(meta: dict[str, Any], extension: str) -> str:
    return f"{NUMBERS}{meta['created'][:10]}/{meta['id']}.{extension}"


def sample_id(key: str) -> str:
    """The id in a sample's storage key."""
    return key.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def _flush_order(key: str) -> tuple[str, bool]:
    """Oldest sample first (ids start with their time), each PNG before its JSON."""
    return sample_id(key), not key.endswith(".png")


def _stamped(meta: dict[str, Any]) -> dict[str, Any]:
    """`meta` with a new id and the time it arrived, first."""
    now = datetime.now(UTC)
    return {"id": new_id(now), "created": now.isoformat(timespec="milliseconds"), **meta}


MAX_UNINDEXED = 10_000  # samples kept in memory for a retry while the database is down; reindex finds the rest


class Indexer(Protocol):
    """What the store needs of the index (app.samples.index.SampleIndex): one call per write."""

    def put_many(self, metas: list[dict[str, Any]]) -> int: ...


@dataclass(frozen=True)
class Receipt:
    """Where a write of a sample went."""

    stored: bool | str  # True: in the store; "spooled": on local disk until the store answers again
    indexed: bool  # False: the index could not be written now (a retry or reindex will)


class SampleStore:
    def __init__(self, storage: Storage, spool: Storage | None = None, index: Indexer | None = None) -> None:
        self.storage = storage
        self.spool = spool
        self.index = index
        self._unindexed: dict[str, str] = {}  # id → JSON key of each sample the index missed
        self._lock = threading.Lock()

    def _put(self, key: str, data: bytes, content_type: str) -> bool | str:
        """True when in the store, "spooled" when only on local disk for now.

        While a backlog waits in the spool, new files queue behind it, so the store receives
        everything in the order it arrived.
        """
        if self.spool is None:
            self.storage.put(key, data, content_type)
            return True
        if not self._spooled():
            try:
                self.storage.put(key, data, content_type)
                return True
            except StorageUnavailable:
                log.warning("storage unavailable: spooling samples to local disk", extra={"key": key})
        self.spool.put(key, data, content_type)
        return "spooled"

    def _spooled(self) -> list[str]:
        """Every file waiting in the spool, samples and numbers alike."""
        return [key for prefix in SPOOLED for key in self.spool.list(prefix)] if self.spool else []

    def add(self, png: bytes, meta: dict[str, Any]) -> tuple[dict[str, Any], Receipt]:
        """Store the drawing durably, then index it; returns the metadata with its id and time filled in."""
        meta = _stamped(meta)
        self._put(sample_key(meta, "png"), png, "image/png")
        return meta, self.write_meta(meta)

    def add_number(self, png: bytes, meta: dict[str, Any]) -> tuple[dict[str, Any], bool | str]:
        """Keep a whole drawing of a number durably (spooled like a sample while the store is down), PNG first and
        JSON last; returns the metadata with its id and time, and whether it is in the store or spooled."""
        meta = _stamped(meta)
        self._put(number_key(meta, "png"), png, "image/png")
        return meta, self._put(number_key(meta, "json"), json.dumps(meta, separators=(",", ":")).encode(),
                               "application/json")

    def numbers(self) -> Iterator[dict[str, Any]]:
        """Every whole number drawing's metadata, oldest first, read from storage (for training and the tests)."""
        for _, data in fetch_many(self.storage, self.json_keys(NUMBERS)):
            if data is not None:
                yield json.loads(data)

    def write_meta(self, meta: dict[str, Any]) -> Receipt:
        """Store the sample's JSON (the record), then its index row."""
        body = json.dumps(meta, separators=(",", ":")).encode()
        stored = self._put(sample_key(meta, "json"), body, "application/json")
        return Receipt(stored, self.index_meta(meta))

    def index_meta(self, meta: dict[str, Any]) -> bool:
        """Put the sample in the index; False when the database cannot be written now (a retry will)."""
        if self.index is None:
            return True
        try:
            self.index.put_many([meta])
        except SQLAlchemyError as error:
            with self._lock:
                self._unindexed[meta["id"]] = sample_key(meta, "json")
                while len(self._unindexed) > MAX_UNINDEXED:  # the oldest are left to reindex
                    del self._unindexed[next(iter(self._unindexed))]
                waiting = len(self._unindexed)
            log.warning("sample index unavailable: the sample is stored, indexing later",
                        extra={"sample_id": meta["id"], "waiting": waiting, "error": type(error).__name__})
            return False
        return True

    def retry_index(self) -> int:
        """Index what the database missed while it was down (the background flusher calls this); returns
        how many samples are still waiting.

        Each is read again from storage, the record: by now another process (the learner) may have written
        a newer state of it, which a copy kept from the failed write would overwrite.
        """
        with self._lock:
            waiting = dict(self._unindexed)
        if not waiting:
            return 0
        fresh = [json.loads(data) for _, data in fetch_many(self.storage, waiting.values()) if data is not None]
        try:
            if fresh:
                self.index.put_many(fresh)
        except SQLAlchemyError:
            return len(waiting)
        with self._lock:
            for meta in fresh:
                if self._unindexed.get(meta["id"]) == waiting[meta["id"]]:
                    del self._unindexed[meta["id"]]
            return len(self._unindexed)

    def flush(self) -> int:
        """Copy spooled files to the store in order, forgetting each once it is there; stops at the first
        failure, so the order holds across outages. Returns how many files moved."""
        if self.spool is None:
            return 0
        moved = 0
        for key in sorted(self._spooled(), key=_flush_order):
            try:
                data = self.spool.get(key)
            except NotFound:  # another worker moved it meanwhile
                continue
            try:
                self.storage.put(key, data, "image/png" if key.endswith(".png") else "application/json")
            except StorageUnavailable:
                break
            self.spool.delete(key)
            moved += 1
        if moved:
            log.info("spooled samples flushed to storage", extra={"files": moved})
        return moved

    def png(self, meta: dict[str, Any]) -> bytes:
        return self.storage.get(sample_key(meta, "png"))

    def json_keys(self, prefix: str = PREFIX) -> list[str]:
        """Every complete sample's JSON key under `prefix`, oldest first (S3 listings are paged by the storage)."""
        return sorted((key for key in self.storage.list(prefix) if key.endswith(".json")), key=sample_id)

    def all(self, label: int | None = None) -> Iterator[dict[str, Any]]:
        """Every complete sample's metadata (one label's only, when given: a narrower listing), oldest first,
        read straight from storage (pages read the index; reindex and the tests read this)."""
        for _, data in fetch_many(self.storage, self.json_keys(PREFIX if label is None else f"{PREFIX}{label}/")):
            if data is not None:  # None: deleted meanwhile
                yield json.loads(data)
