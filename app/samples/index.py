"""An index of the stored samples in SQL, so stats, dataset pages and counts cost O(page), not O(dataset).

Storage (app/samples/store.py) stays the store of record: every field here is derived from a sample's
JSON, and `put` replays are idempotent, so the index can be rebuilt from storage at any time (reindex).
SQLite by default (`sqlite:///<data_dir>/digitdraw.db`, WAL so readers never wait for the writer);
PostgreSQL via psycopg 3 when several hosts share one index.

What makes reads cheap (every write keeps it exact, in the same transaction as the row itself):
- `label_counts` counts live samples per (label, source, shown, status, consent): at most
  10 × 3 × 11 × 4 × 2 rows however large the dataset, and enough for totals, per_digit, confusion and
  every page filter's total. `day_counts` (day, source) feeds per_day; `client_counts` feeds "people".
- `seq` is each row's dense 1-based position in id (= time) order, and each row carries its own hits
  (`hit_<net>`: was the net's top-1 the label) plus cumulative sums of them over seq (`right_<net>`,
  `seen_<net>`), deleted rows included. A prequential window's sum is then cum[end] − cum[start]: the
  summary fetches only the rows at the thinned chart points, and corrects for the few tombstones
  (deleted rows) by fetching those. Samples normally arrive in id order, so a new row is appended; a late
  one (spooled during an outage) is slotted in and shifts the rows after it, at a cost of the lateness.
Writers are serialised (SQLite: BEGIN IMMEDIATE; PostgreSQL: a transaction-level advisory lock), which
is what keeps seq dense and the running sums consistent without a database sequence (those have gaps).

Normalised as app/samples/stats.py does: a missing source counts as "correction", a missing status as
"pending" (also for the `source` filter of `page`).
"""

from __future__ import annotations

import bisect
import logging
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import filelock
from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    Float,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from app.reading.ensemble import MODEL_NAMES
from app.samples import dataset, stats
from app.samples.store import PENDING, sample_key

MIGRATIONS = Path(__file__).with_name("migrations")
# the newest revision: migration files are named <revision>_<what>.py with revisions counting up
HEAD_REVISION = max(path.name.split("_", 1)[0] for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))
NAMES = (*MODEL_NAMES, "shown")  # the prequential series, each with hit_/right_/seen_ columns
NOT_RECOGNISED = 10  # label_counts.shown when nothing was shown (the confusion matrix's last column)
BUSY_TIMEOUT_MS = 10_000  # a SQLite writer waits this long for another one before giving up
log = logging.getLogger(__name__)
WRITE_LOCK = 0x64696769  # PostgreSQL advisory lock key serialising index writers ("digi")
LEARNER_LOCK = 0x6C65726E  # held by the one learner process ("lern")
# SQLite reads the file through a memory map, not its 2 MB page cache: a summary's few hundred scattered
# row lookups then cost microseconds each, not a read() each (7.5 → 2.2 ms at 100,000 samples)
SQLITE_MMAP_BYTES = 256 * 1024 * 1024
ANALYZE_AFTER = 5_000  # a put_many of this many samples is a bulk load: refresh the planner's statistics after it
CHUNK = 500  # ids per IN (...) lookup: well below every backend's parameter limit
STREAM_ROWS = 1_000  # rows per fetch when streaming an export
CACHED_WINDOWS = 4  # summaries kept per process, one per prequential window asked for

Meta = Mapping[str, Any]


class Base(DeclarativeBase):
    pass


class Sample(Base):
    """One stored sample as the index sees it: what pages, filters, stats and exports read."""

    __tablename__ = "samples"
    __table_args__ = (
        Index("ix_samples_seq", "seq"),  # not unique: a late arrival shifts seq of later rows in one UPDATE
        # newest-first pages: equality on deleted, order by id, every filter answered from the index itself
        Index("ix_samples_browse", "deleted", "id", "consent", "misread", "source", "label"),
        Index("ix_samples_label", "deleted", "label", "id", "consent", "misread", "source"),
        Index("ix_samples_tombstones", "deleted", "seq"),
        Index("ix_samples_queue", "status", "deleted", "id"),  # the learner's queue: pending rows, oldest first
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    created: Mapped[str] = mapped_column(String(40))  # ISO text exactly as stored, so it round-trips unchanged
    day: Mapped[str] = mapped_column(String(10))
    label: Mapped[int] = mapped_column(SmallInteger)
    source: Mapped[str] = mapped_column(String(16))
    predicted: Mapped[int | None] = mapped_column(SmallInteger)
    answer: Mapped[int | None] = mapped_column(SmallInteger)
    shown: Mapped[int | None] = mapped_column(SmallInteger)
    misread: Mapped[bool] = mapped_column(Boolean)
    fnn: Mapped[int | None] = mapped_column(SmallInteger)
    fnn_p: Mapped[float | None] = mapped_column(Float)
    cnn: Mapped[int | None] = mapped_column(SmallInteger)
    cnn_p: Mapped[float | None] = mapped_column(Float)
    fnn_online: Mapped[int | None] = mapped_column(SmallInteger)
    fnn_online_p: Mapped[float | None] = mapped_column(Float)
    cnn_online: Mapped[int | None] = mapped_column(SmallInteger)
    cnn_online_p: Mapped[float | None] = mapped_column(Float)
    fnn_online_version: Mapped[int | None] = mapped_column(Integer)
    cnn_online_version: Mapped[int | None] = mapped_column(Integer)
    person: Mapped[str | None] = mapped_column(String(128))
    client: Mapped[str | None] = mapped_column(String(128))
    consent: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    learned_version: Mapped[int | None] = mapped_column(Integer)
    deleted: Mapped[bool] = mapped_column(Boolean)
    deleted_at: Mapped[str | None] = mapped_column(String(40))
    strokes: Mapped[int | None] = mapped_column(Integer)  # how many strokes (None once a deletion dropped them)
    canvas_width: Mapped[int | None] = mapped_column(Integer)
    canvas_height: Mapped[int | None] = mapped_column(Integer)
    png_key: Mapped[str] = mapped_column(String(160))
    json_key: Mapped[str] = mapped_column(String(160))
    hit_fnn: Mapped[int | None] = mapped_column(SmallInteger)
    hit_cnn: Mapped[int | None] = mapped_column(SmallInteger)
    hit_fnn_online: Mapped[int | None] = mapped_column(SmallInteger)
    hit_cnn_online: Mapped[int | None] = mapped_column(SmallInteger)
    hit_shown: Mapped[int] = mapped_column(SmallInteger)
    right_fnn: Mapped[int] = mapped_column(Integer)
    right_cnn: Mapped[int] = mapped_column(Integer)
    right_fnn_online: Mapped[int] = mapped_column(Integer)
    right_cnn_online: Mapped[int] = mapped_column(Integer)
    right_shown: Mapped[int] = mapped_column(Integer)
    seen_fnn: Mapped[int] = mapped_column(Integer)
    seen_cnn: Mapped[int] = mapped_column(Integer)
    seen_fnn_online: Mapped[int] = mapped_column(Integer)
    seen_cnn_online: Mapped[int] = mapped_column(Integer)
    seen_shown: Mapped[int] = mapped_column(Integer)


class LabelCount(Base):
    """Live samples per (label, source, shown, status, consent): stats.cells, kept up to date."""

    __tablename__ = "label_counts"

    label: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    shown: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # NOT_RECOGNISED for None
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    consent: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class DayCount(Base):
    """Live samples per UTC day and source: stats.day_counts, kept up to date."""

    __tablename__ = "day_counts"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class ClientCount(Base):
    """Live samples per client hash; a client's row goes when its count reaches 0, so people = rows."""

    __tablename__ = "client_counts"

    client: Mapped[str] = mapped_column(String(128), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class IndexRevision(Base):
    """One row counting the index's write transactions: a process that cached an answer computed at revision n
    knows it still holds while the count is n, whichever process writes (see SampleIndex.summary)."""

    __tablename__ = "index_revision"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


SAMPLES: Table = Sample.__table__  # type: ignore[assignment]
REVISION: Table = IndexRevision.__table__  # type: ignore[assignment]
COUNTS: tuple[Table, ...] = (LabelCount.__table__, DayCount.__table__, ClientCount.__table__)  # type: ignore[assignment]
SUMS = tuple(f"{kind}_{name}" for kind in ("right", "seen") for name in NAMES)
DERIVED = frozenset(("seq", *SUMS))  # columns that follow from the rows' order, not from the sample itself


def engine_url(url: str) -> URL:
    """The URL SQLAlchemy needs: Heroku's `postgres://` and a plain `postgresql://` both mean psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _probability(meta: Meta, model: str) -> float | None:
    """The probability a net gave its top-1, or None when the metadata lacks it (as stats.top1 does)."""
    try:
        return float(meta["models"][model]["top3"][0][1])
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def row(meta: Meta) -> dict[str, Any]:
    """The index row of one sample's metadata (without seq and running sums, which depend on the others)."""
    answer = stats.shown(meta)
    versions = meta.get("model_version") or {}
    canvas = meta.get("canvas") or {}
    strokes = meta.get("strokes")
    found = {
        "id": meta["id"],
        "created": meta["created"],
        "day": meta["created"][:10],
        "label": meta["label"],
        "source": stats.source(meta),
        "predicted": meta.get("predicted"),
        "answer": meta.get("answer"),
        "shown": answer,
        "misread": stats.misread(meta),
        "fnn_online_version": versions.get("fnn_online"),
        "cnn_online_version": versions.get("cnn_online"),
        "person": meta.get("person"),
        "client": meta.get("client"),
        "consent": bool(meta.get("consent")),
        "status": stats.status(meta),
        "reason": meta.get("reason"),
        "learned_version": meta.get("learned_version"),
        "deleted": bool(meta.get("deleted")),
        "deleted_at": meta.get("deleted_at"),
        "strokes": len(strokes) if isinstance(strokes, list) else None,
        "canvas_width": canvas.get("width"),
        "canvas_height": canvas.get("height"),
        "png_key": sample_key(dict(meta), "png"),
        "json_key": sample_key(dict(meta), "json"),
    }
    for model in MODEL_NAMES:
        found[model] = stats.top1(meta, model)
        found[f"{model}_p"] = _probability(meta, model)
    for name, hit in stats.hits(meta).items():
        found[f"hit_{name}"] = hit
    return found


def _own_sums(values: Mapping[str, Any]) -> dict[str, int]:
    """A row's own contribution to the running sums."""
    own = {}
    for name in NAMES:
        hit = values[f"hit_{name}"]
        own[f"right_{name}"] = hit or 0
        own[f"seen_{name}"] = int(hit is not None)
    return own


def _contributions(values: Mapping[str, Any]) -> list[tuple[Table, dict[str, Any]]]:
    """The count rows a live index row adds 1 to (a deleted one: none)."""
    if values["deleted"]:
        return []
    shown = NOT_RECOGNISED if values["shown"] is None else values["shown"]
    found = [
        (COUNTS[0], {"label": values["label"], "source": values["source"], "shown": shown,
                     "status": values["status"], "consent": values["consent"]}),
        (COUNTS[1], {"day": values["day"], "source": values["source"]}),
    ]
    if values["client"]:
        found.append((COUNTS[2], {"client": values["client"]}))
    return found


class _Batch:
    """One write transaction's puts, in id order: new rows past the end are appended in bulk; count changes
    are summed and applied once at the end; replays of an unchanged sample cost one lookup."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.pending: list[dict[str, Any]] = []
        self.deltas: dict[tuple[Table, tuple[tuple[str, Any], ...]], int] = Counter()
        self.tail = self._last()

    def _last(self) -> dict[str, Any] | None:
        found = self.conn.execute(select(SAMPLES.c.id, SAMPLES.c.seq, *(SAMPLES.c[s] for s in SUMS))
                                  .order_by(SAMPLES.c.seq.desc()).limit(1)).first()
        return None if found is None else dict(found._mapping)

    def _count(self, values: Mapping[str, Any], sign: int) -> None:
        for table, key in _contributions(values):
            self.deltas[table, tuple(key.items())] += sign

    def flush(self) -> None:
        """Write the appended rows, before any statement that reads or shifts rows by seq."""
        if self.pending:
            self.conn.execute(insert(SAMPLES), self.pending)
            self.pending = []

    def put(self, values: dict[str, Any], old: Mapping[str, Any] | None) -> None:
        if old is not None:
            self._replace(values, old)
        elif self.tail is None or values["id"] > self.tail["id"]:
            seq = self.tail["seq"] + 1 if self.tail else 1
            own = _own_sums(values)
            values = {**values, "seq": seq, **{s: own[s] + (self.tail[s] if self.tail else 0) for s in SUMS}}
            self.pending.append(values)
            self.tail = values
        else:
            self._slot_in(values)
        self._count(values, +1)

    def _replace(self, values: dict[str, Any], old: Mapping[str, Any]) -> None:
        self._count(old, -1)
        if all(old[k] == v for k, v in values.items()):
            return
        self.flush()
        own, was = _own_sums(values), _own_sums(old)
        shift = {s: own[s] - was[s] for s in SUMS if own[s] != was[s]}
        if shift:  # the sample's hits changed (its label or readings were rewritten): later sums move too
            self.conn.execute(update(SAMPLES).where(SAMPLES.c.seq >= old["seq"])
                              .values({s: SAMPLES.c[s] + d for s, d in shift.items()}))
            self.tail = self._last()
        self.conn.execute(update(SAMPLES).where(SAMPLES.c.id == values["id"]).values(values))

    def _slot_in(self, values: dict[str, Any]) -> None:
        """A late arrival: take the seq of the first later row and shift that row and all after it by one."""
        self.flush()
        seq = self.conn.execute(select(SAMPLES.c.seq).where(SAMPLES.c.id > values["id"])
                                .order_by(SAMPLES.c.id).limit(1)).scalar_one()
        before = self.conn.execute(select(*(SAMPLES.c[s] for s in SUMS)).where(SAMPLES.c.seq == seq - 1)).first()
        own = _own_sums(values)
        self.conn.execute(update(SAMPLES).where(SAMPLES.c.seq >= seq)
                          .values({"seq": SAMPLES.c.seq + 1, **{s: SAMPLES.c[s] + own[s] for s in SUMS if own[s]}}))
        base = dict(before._mapping) if before else dict.fromkeys(SUMS, 0)
        self.conn.execute(insert(SAMPLES).values({**values, "seq": seq, **{s: base[s] + own[s] for s in SUMS}}))
        self.tail = self._last()

    def finish(self, upsert: Any) -> None:
        """Apply the summed count changes: add to each key's n (creating it), drop keys that reached 0."""
        self.flush()
        by_table: dict[Table, list[dict[str, Any]]] = {}
        emptied: dict[Table, list[dict[str, Any]]] = {}
        for (table, key), delta in self.deltas.items():
            if delta:
                by_table.setdefault(table, []).append({**dict(key), "n": delta})
                if delta < 0:
                    emptied.setdefault(table, []).append(dict(key))
        for table, changes in by_table.items():
            statement = upsert(table)
            keys = [c.name for c in table.primary_key.columns]
            self.conn.execute(statement.on_conflict_do_update(
                index_elements=keys, set_={"n": table.c.n + statement.excluded.n}), changes)
        for table, keys_emptied in emptied.items():
            # one statement per key: executemany with bound key columns, only rows that reached 0
            names = [c.name for c in table.primary_key.columns]
            condition = and_(table.c.n <= 0, *(table.c[k] == bindparam(f"key_{k}") for k in names))
            self.conn.execute(delete(table).where(condition), [{f"key_{k}": v for k, v in key.items()}
                                                               for key in keys_emptied])


class SampleIndex:
    """The index at `url` (see `engine_url`); thread-safe, one per process. Call `migrate()` once at start."""

    def __init__(self, url: str) -> None:
        self.url = engine_url(url)
        self.backend = self.url.get_backend_name()
        if self.backend == "sqlite":
            if self.url.database and self.url.database != ":memory:":
                Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(self.url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
            self.upsert: Any = sqlite.insert
        else:
            self.engine = create_engine(self.url, pool_pre_ping=True)
            self.upsert = postgresql.insert
        self.summaries: dict[int, tuple[int, dict[str, Any]]] = {}  # window → (revision, summary)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A transaction that no other writer runs alongside, so seq and running sums follow one order."""
        with self.engine.connect() as conn:
            conn.execution_options(index_write=True)
            with conn.begin():
                if self.backend == "postgresql":
                    conn.execute(select(func.pg_advisory_xact_lock(WRITE_LOCK)))
                yield conn

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A transaction reading one snapshot, so counts, sums and rows of one answer agree with each other."""
        with self.engine.connect() as conn:
            if self.backend == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def revision(self) -> str | None:
        """The schema revision the database is at (None before the first migration)."""
        try:
            with self.engine.connect() as conn:
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except SQLAlchemyError:
            return None

    def migrate(self, revision: str = "head") -> None:
        """Bring the schema up to `revision` (the newest by default) of app/samples/migrations (no alembic.ini).

        Every process calls this at start; one already at the head revision returns without importing
        Alembic (12 MB and 0.35 s of a web worker's start)."""
        if revision == "head" and self.revision() == HEAD_REVISION:
            return
        self._alembic("upgrade", revision)

    def downgrade(self, revision: str) -> None:
        """Take the schema back down to `revision` (an operator undoing a deploy; the migration tests)."""
        self._alembic("downgrade", revision)

    def _alembic(self, step: str, revision: str) -> None:
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.writing() as conn:
            config.attributes["connection"] = conn
            getattr(command, step)(config, revision)

    @contextmanager
    def learner_lock(self) -> Iterator[None]:
        """Held by the learner for as long as it runs, so a second learner waits instead of racing it: an
        advisory lock on PostgreSQL (any host), a file lock beside the SQLite database (one machine)."""
        if self.backend == "postgresql":
            with self.engine.connect() as conn:
                log.info("waiting for the learner lock")
                conn.execute(select(func.pg_advisory_lock(LEARNER_LOCK)))
                conn.commit()
                try:
                    yield
                finally:
                    conn.execute(select(func.pg_advisory_unlock(LEARNER_LOCK)))
                    conn.commit()
        else:
            with filelock.FileLock(f"{self.url.database}.learner.lock"):
                yield

    def healthy(self) -> bool:
        """Whether the database answers (for /api/health and a fallback to storage)."""
        try:
            with self.engine.connect() as conn:
                conn.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    # writes

    def put(self, meta: Meta) -> None:
        """Index one sample's metadata, inserting or replacing by id (replays change nothing)."""
        self.put_many([meta])

    def put_many(self, metas: Iterable[Meta]) -> int:
        """Index many samples in one transaction (what reindex does); the last meta of an id wins.
        Returns how many distinct ids were given."""
        rows = {meta["id"]: row(meta) for meta in metas}
        ids = sorted(rows)
        with self.writing() as conn:
            existing = {}
            for start in range(0, len(ids), CHUNK):
                found = conn.execute(select(SAMPLES).where(SAMPLES.c.id.in_(ids[start:start + CHUNK])))
                existing.update({r.id: dict(r._mapping) for r in found})
            batch = _Batch(conn)
            for sample_id in ids:
                batch.put(rows[sample_id], existing.get(sample_id))
            batch.finish(self.upsert)
            conn.execute(update(REVISION).values(n=REVISION.c.n + 1))
        if len(ids) >= ANALYZE_AFTER:
            self.analyze()
        return len(ids)

    def analyze(self) -> None:
        """Refresh the planner's statistics (after a bulk load: reindex calls this at its end). PostgreSQL
        plans a freshly loaded table as if it were nearly empty until autovacuum gets to it, e.g. scanning
        every row for the tombstones; SQLite's `PRAGMA optimize` analyses only what would gain from it."""
        with self.engine.connect() as conn:
            conn.execute(text("ANALYZE" if self.backend == "postgresql" else "PRAGMA optimize"))
            conn.commit()

    # reads

    def get(self, sample_id: str) -> dict[str, Any] | None:
        """The sample's index row (deleted ones too), or None."""
        with self.reading() as conn:
            found = conn.execute(select(SAMPLES).where(SAMPLES.c.id == sample_id)).first()
        return None if found is None else dict(found._mapping)

    def pending(self, limit: int = 16) -> list[dict[str, Any]]:
        """The oldest live samples learning has not decided on yet: the learner's queue, in arrival order.

        One learner process takes them (it holds the learner lock), so no row lock is needed: the queue
        only shrinks by that process rewriting each sample's status.
        """
        with self.reading() as conn:
            found = conn.execute(select(SAMPLES.c.id, SAMPLES.c.label, SAMPLES.c.png_key, SAMPLES.c.json_key)
                                 .where(SAMPLES.c.status == PENDING, SAMPLES.c.deleted.is_(False))
                                 .order_by(SAMPLES.c.id).limit(limit))
            return [dict(r._mapping) for r in found]

    def counts(self) -> dict[str, int]:
        """Live samples per label, keyed "0"…"9" like SampleStore.counts()."""
        with self.reading() as conn:
            found = conn.execute(select(LabelCount.label, func.sum(LabelCount.n)).group_by(LabelCount.label))
            return {**dict.fromkeys(map(str, range(10)), 0), **{str(label): int(n) for label, n in found}}

    def extent(self) -> dict[str, Any]:
        """What a reindex compares with storage to see drift: rows (deleted too), live rows, newest id."""
        with self.reading() as conn:
            rows, newest = conn.execute(select(func.count(), func.max(SAMPLES.c.id))).one()
            live = conn.execute(select(func.coalesce(func.sum(LabelCount.n), 0))).scalar_one()
        return {"rows": rows, "live": int(live), "max_id": newest}

    def ids(self, day: str | None = None) -> Iterator[str]:
        """Every indexed id (deleted too; one UTC day's only, when given), ascending, streamed: to diff against
        a storage listing."""
        query = select(SAMPLES.c.id).order_by(SAMPLES.c.id)
        if day is not None:
            query = query.where(SAMPLES.c.day == day)
        with self.reading() as conn:
            yield from conn.execution_options(yield_per=STREAM_ROWS).execute(query).scalars()

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every live row in id order, streamed in flat memory (server-side cursor on PostgreSQL): exports.
        The connection stays open until the iterator is exhausted or closed."""
        with self.reading() as conn:
            found = conn.execution_options(yield_per=STREAM_ROWS).execute(
                select(SAMPLES).where(SAMPLES.c.deleted.is_(False)).order_by(SAMPLES.c.id))
            for each in found:
                yield dict(each._mapping)

    def page(self, *, label: int | None = None, misread: bool | None = None, source: str | None = None,
             everyone: bool = False, page: int = 1, per_page: int = dataset.PER_PAGE,
             before: str | None = None) -> dict[str, Any]:
        """One page of matching live samples, newest first, as dataset.paginate(dataset.select(...)) gives it,
        plus `next`: the cursor for the following page (pass it as `before`), None on the last page.

        With `before` the page holds the samples older than that id (keyset: O(page) at any depth) and
        `page` is None; otherwise page `page` by offset over a covering index.
        """
        where = [SAMPLES.c.deleted.is_(False)]
        counted: list[ColumnElement[bool]] = []
        if not everyone:
            where.append(SAMPLES.c.consent.is_(True))
            counted.append(LabelCount.consent.is_(True))
        if label is not None:
            where.append(SAMPLES.c.label == label)
            counted.append(LabelCount.label == label)
        if misread is not None:
            where.append(SAMPLES.c.misread.is_(misread))
            wrong = LabelCount.shown != LabelCount.label
            counted.append(wrong if misread else ~wrong)
        if source is not None:
            where.append(SAMPLES.c.source == source)
            counted.append(LabelCount.source == source)
        ids = select(SAMPLES.c.id).where(*where).order_by(SAMPLES.c.id.desc()).limit(per_page + 1)
        ids = ids.where(SAMPLES.c.id < before) if before is not None else ids.offset((page - 1) * per_page)
        with self.reading() as conn:
            total = int(conn.execute(select(func.coalesce(func.sum(LabelCount.n), 0)).where(*counted)).scalar_one())
            found = list(conn.execute(ids).scalars())  # ids first (index only), whole rows for the page alone
            shown = found[:per_page]
            metas = {r.id: r for r in conn.execute(select(*(SAMPLES.c[k] for k in ITEM)).where(
                SAMPLES.c.id.in_(shown)))}
        return {
            "items": [dataset.item(dict(metas[i]._mapping)) for i in shown],
            "page": None if before is not None else page,
            "per_page": per_page,
            "pages": math.ceil(total / per_page),
            "total": total,
            "next": shown[-1] if len(found) > per_page else None,
        }

    def summary(self, window: int = stats.DEFAULT_WINDOW) -> dict[str, Any]:
        """Exactly stats.summary(<every indexed sample's metadata>, window), in five small queries, or in one
        while no process has written since this one last computed it (the stats page is polled, and building
        its series is most of a request's time). The answer may be shared: read it, don't change it."""
        with self.reading() as conn:
            revision = conn.execute(select(REVISION.c.n)).scalar_one()
            cached = self.summaries.get(window)
            if cached is not None and cached[0] == revision:
                return cached[1]
            found = self._summary(conn, window)
        self.summaries.pop(window, None)
        while len(self.summaries) >= CACHED_WINDOWS:
            del self.summaries[next(iter(self.summaries))]
        self.summaries[window] = (revision, found)
        return found

    def _summary(self, conn: Connection, window: int) -> dict[str, Any]:
        people, first_day, last_day, rows = conn.execute(select(
            select(func.count()).select_from(ClientCount).scalar_subquery(),
            select(func.min(DayCount.day)).scalar_subquery(),
            select(func.max(DayCount.day)).scalar_subquery(),
            select(func.coalesce(func.max(SAMPLES.c.seq), 0)).scalar_subquery())).one()
        found = conn.execute(select(LabelCount.label, LabelCount.source, LabelCount.shown, LabelCount.status,
                                    LabelCount.consent, LabelCount.n)).all()
        cells = {(label, came, None if answer == NOT_RECOGNISED else answer, decided, consent): n
                 for label, came, answer, decided, consent, n in found}
        days: dict[str, Counter[str]] = {}
        if last_day is not None:
            since = stats.first_shown_day(last_day)
            for day, came, n in conn.execute(select(DayCount.day, DayCount.source, DayCount.n)
                                             .where(DayCount.day >= since)).all():
                days.setdefault(day, Counter())[came] = n
        curve = self._prequential(conn, window, rows)
        ends = curve["created"]
        return {
            "totals": stats.tally(cells, people, ends[0] if ends else None, ends[-1] if ends else None),
            "prequential": curve,
            "per_day": stats.day_series(days, first_day or ""),
            "per_digit": stats.digit_rows(cells),
            "confusion": stats.confusion_matrix(cells),
        }

    def _prequential(self, conn: Connection, window: int, rows: int) -> dict[str, Any]:
        """stats.prequential from the running sums at the chart's points (`rows`: the highest seq), corrected
        for tombstones.

        The n-th live sample sits at seq n + (tombstones before it); its live running sum is the row's
        sum less the tombstones' hits before it. Sums travel as tuples in SUMS order (right_*, then seen_*).
        """
        tombstones = conn.execute(select(SAMPLES.c.seq, *(SAMPLES.c[f"hit_{name}"] for name in NAMES))
                                  .where(SAMPLES.c.deleted.is_(True)).order_by(SAMPLES.c.seq)).all()
        count = rows - len(tombstones)
        # tombstone k (0-based) has seq - 1 - k live samples before it: the n-th live sample is after it iff that < n
        after = [t[0] - k for k, t in enumerate(tombstones)]
        removed = [(0,) * len(SUMS)]  # removed[k]: the first k tombstones' sums
        for t in tombstones:
            hits = t[1:]
            own = (*(hit or 0 for hit in hits), *(int(hit is not None) for hit in hits))
            removed.append(tuple(a + b for a, b in zip(removed[-1], own, strict=True)))

        ranks = [n for n in stats.curve_ranks(count, window) if n]
        skipped = {n: bisect.bisect_right(after, n) for n in ranks}
        wanted = sorted({n + skipped[n] for n in ranks})
        at: dict[int, Any] = {}
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start:start + CHUNK]
            at.update({r[0]: r for r in conn.execute(select(SAMPLES.c.seq, SAMPLES.c.created, *(
                SAMPLES.c[s] for s in SUMS)).where(SAMPLES.c.seq.in_(chunk))).all()})
        live = {0: (0,) * len(SUMS)}  # the live running sums after the first n live samples, at each rank n
        created = {}
        for n in ranks:
            found = at[n + skipped[n]]
            live[n] = tuple(a - b for a, b in zip(found[2:], removed[skipped[n]], strict=True))
            created[n] = found[1]
        position = {name: i for i, name in enumerate(NAMES)}

        def sums(name: str, n: int) -> tuple[int, int]:
            found, i = live[n], position[name]
            return found[i], found[i + len(NAMES)]

        return stats.curve(count, sums, created.__getitem__, window, NAMES)


ITEM = ("id", "label", "predicted", "answer", "source", "status", "consent", "created")  # what dataset.item reads


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    """WAL (readers never wait for the writer), foreign keys on, and SQLAlchemy's own BEGIN (below)."""
    dbapi_connection.isolation_level = None  # the driver's implicit BEGIN would be DEFERRED: see _sqlite_begin
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", f"busy_timeout={BUSY_TIMEOUT_MS}",
                   f"mmap_size={SQLITE_MMAP_BYTES}"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    """Writers take the write lock when they begin (IMMEDIATE), not at their first write, so two writers never
    both read the tail and then collide; readers begin deferred and read a snapshot."""
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("index_write") else "BEGIN")
