"""app/samples/index.py's contract, on SQLite and on a real PostgreSQL server (tests/pgserver.py).

Every read is checked against the pure functions it replaces (stats.summary, dataset.select + paginate,
the per-label counts) on the same metadata, with late arrivals, status rewrites, deletions and replays.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from app.reading.ensemble import MODEL_NAMES
from app.samples import stats
from app.samples.index import COUNTS, HEAD_REVISION, MIGRATIONS, NAMES, SAMPLES, Base, SampleIndex, engine_url
from tests import oracles

SOURCES = ("correction", "confirmation", "collection")


def make_meta(rng: random.Random, n: int, day: int = 0) -> dict[str, Any]:
    """A sample's JSON as app/web/api.py correct() writes it (after learning), the n-th of its day."""
    label = rng.randrange(10)
    source = rng.choice(SOURCES)
    predicted = None if source == "collection" else rng.choice([label, label, rng.randrange(10)])
    answer = rng.choice([label, rng.randrange(10), None])
    models = {}
    for name in MODEL_NAMES:
        if rng.random() < 0.9:  # now and then a net has no reading
            guess = rng.choice([label, rng.randrange(10)])
            models[name] = {"top3": [[guess, 0.7], [(guess + 1) % 10, 0.2], [(guess + 2) % 10, 0.1]]}
    date = f"2026-{1 + day // 28:02d}-{1 + day % 28:02d}"
    status = rng.choice(["learned", "quarantined", "not_learned", "pending"])
    clock = f"{n // 3600 % 24:02d}{n // 60 % 60:02d}{n % 60:02d}"
    return {
        "id": f"{date.replace('-', '')}T{clock}{n:06d}Z-{rng.getrandbits(32):08x}",
        "created": f"{date}T{clock[:2]}:{clock[2:4]}:{clock[4:]}.000+00:00",
        "label": label,
        "source": source,
        "predicted": predicted,
        "answer": answer,
        "models": models,
        "model_version": {"fnn_online": rng.randrange(50), "cnn_online": rng.randrange(50)},
        "client": f"client{rng.randrange(20)}",
        "person": rng.choice([None, f"person{rng.randrange(5)}"]),
        "canvas": {"width": 280, "height": 280},
        "strokes": [[[1, 2, 0], [3, 4, 5]]] * rng.randrange(1, 4),
        "consent": rng.random() < 0.6,
        "status": status,
        "reason": None if status == "learned" else "some reason",
        "learned_version": rng.randrange(50) if status == "learned" else None,
    }


def make_metas(rng: random.Random, count: int, days: int = 120) -> list[dict[str, Any]]:
    return [make_meta(rng, n, day=rng.randrange(days)) for n in range(count)]


def delete(meta: dict[str, Any]) -> dict[str, Any]:
    """The tombstone app/samples/dataset.delete writes."""
    return {**meta, "deleted": True, "deleted_at": "2026-12-01T00:00:00.000+00:00", "strokes": None}


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/nested/digitdraw.db"
    return request.getfixturevalue("pg_database")


@pytest.fixture
def index(url: str) -> Iterator[SampleIndex]:
    found = SampleIndex(url)
    found.migrate()
    yield found
    found.close()


def dump(index: SampleIndex) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, to compare states."""
    with index.reading() as conn:
        return {table.name: sorted(tuple(r) for r in conn.execute(select(table)))
                for table in (SAMPLES, *COUNTS)}


def check_exact(index: SampleIndex, metas: dict[str, dict[str, Any]], windows: tuple[int, ...] = (5, 50, 1000)) -> None:
    """Everything the index answers equals the pure functions on the same metadata; seq dense, sums right."""
    everything = list(metas.values())
    for window in windows:
        assert index.summary(window) == stats.summary(everything, window)
    live = stats.live(everything)
    assert index.counts() == {str(d): sum(m["label"] == d for m in live) for d in range(10)}
    with index.reading() as conn:
        rows = conn.execute(select(SAMPLES).order_by(SAMPLES.c.seq)).all()
    assert [r.seq for r in rows] == list(range(1, len(metas) + 1))
    assert [r.id for r in rows] == sorted(metas)
    running = Counter()
    for r in rows:
        for name in NAMES:
            hit = getattr(r, f"hit_{name}")
            running[f"right_{name}"] += hit or 0
            running[f"seen_{name}"] += hit is not None
            assert getattr(r, f"right_{name}") == running[f"right_{name}"]
            assert getattr(r, f"seen_{name}") == running[f"seen_{name}"]


def test_put_get_round_trip(index: SampleIndex):
    meta = make_meta(random.Random(1), 5)
    index.put(meta)
    found = index.get(meta["id"])
    assert found is not None
    assert {k: found[k] for k in ("id", "created", "label", "source", "predicted", "answer", "consent", "status",
                                  "reason", "learned_version", "client", "person")} == {
        k: meta[k] for k in ("id", "created", "label", "source", "predicted", "answer", "consent", "status",
                             "reason", "learned_version", "client", "person")}
    assert found["shown"] == stats.shown(meta) and found["misread"] == stats.misread(meta)
    assert found["day"] == meta["created"][:10] and found["seq"] == 1
    assert found["strokes"] == len(meta["strokes"]) and found["canvas_width"] == 280
    assert found["fnn_online_version"] == meta["model_version"]["fnn_online"]
    for name in MODEL_NAMES:
        assert found[name] == stats.top1(meta, name)
        assert found[f"{name}_p"] == (0.7 if name in meta["models"] else None)
    assert found["png_key"] == f"samples/{meta['label']}/{meta['created'][:10]}/{meta['id']}.png"
    assert found["json_key"].endswith(".json")
    assert index.get("20260101T000000000000Z-00000000") is None
    assert index.healthy()


def test_summary_equals_stats_summary_with_late_arrivals_rewrites_and_deletions(index: SampleIndex):
    rng = random.Random(7)
    assert index.summary() == stats.summary([])
    metas = {m["id"]: m for m in make_metas(rng, 460)}
    ordered = sorted(metas.values(), key=lambda m: m["id"])
    index.put_many(ordered[100:400])  # bulk, in order
    for meta in rng.sample(ordered[:100], 100):  # late arrivals, one by one in random order
        index.put(meta)
    index.put_many(ordered[400:])
    check_exact(index, metas)
    for meta in rng.sample(ordered, 60):  # learning rewrites status; deletions tombstone
        changed = delete(meta) if rng.random() < 0.5 else {**meta, "status": rng.choice(stats.STATUSES)}
        metas[meta["id"]] = changed
        index.put(changed)
    check_exact(index, metas)
    undeleted = next(m for m in metas.values() if m.get("deleted"))  # a rewrite that changes the hits
    metas[undeleted["id"]] = {**undeleted, "deleted": False, "label": (undeleted["label"] + 1) % 10}
    index.put(metas[undeleted["id"]])
    check_exact(index, metas)


@pytest.mark.parametrize("seed", range(6))
def test_summary_on_many_small_random_histories(index: SampleIndex, seed: int):
    rng = random.Random(seed)
    metas: dict[str, dict[str, Any]] = {}
    for meta in make_metas(rng, rng.randrange(1, 40), days=200):
        metas[meta["id"]] = delete(meta) if rng.random() < 0.2 else meta
    index.put_many(rng.sample(list(metas.values()), len(metas)))
    check_exact(index, metas, windows=(1, 3, 50))


def test_put_is_idempotent(index: SampleIndex):
    metas = make_metas(random.Random(3), 120)
    metas[5] = delete(metas[5])
    index.put_many(metas)
    before = dump(index)
    index.put_many(metas)
    for meta in metas[:30]:
        index.put(meta)
    assert dump(index) == before


def test_page_equals_dataset_select_and_paginate(index: SampleIndex):
    rng = random.Random(11)
    metas = make_metas(rng, 300)
    for i in rng.sample(range(300), 30):
        metas[i] = delete(metas[i])
    index.put_many(metas)
    filters = [{}, {"label": 3}, {"misread": True}, {"misread": False}, {"source": "collection"},
               {"label": 7, "misread": False, "source": "correction"}]
    for query in filters:
        for everyone in (False, True):
            found = oracles.select(metas, label=query.get("label"), was_misread=query.get("misread"),
                                   source=query.get("source"), everyone=everyone)
            pages = max(1, -(-len(found) // 10))
            for page in (1, 2, pages, pages + 1):
                expected = oracles.paginate(found, page, per_page=10)
                got = index.page(**query, everyone=everyone, page=page, per_page=10)
                assert {k: v for k, v in got.items() if k != "next"} == expected
                assert got["next"] == (expected["items"][-1]["id"] if page < pages else None)


def test_keyset_cursor_walks_every_row_once(index: SampleIndex):
    metas = make_metas(random.Random(5), 130)
    index.put_many(metas)
    seen, cursor = [], None
    while True:
        got = index.page(everyone=True, per_page=24, before=cursor) if cursor else index.page(everyone=True)
        seen += [item["id"] for item in got["items"]]
        cursor = got["next"]
        if cursor is None:
            break
    assert seen == sorted((m["id"] for m in metas), reverse=True)
    assert index.page(everyone=True, before=min(seen))["items"] == []


def test_rows_ids_and_extent(index: SampleIndex):
    metas = make_metas(random.Random(9), 50)
    metas[0] = delete(metas[0])
    index.put_many(metas)
    live = [m["id"] for m in stats.live(metas)]
    assert [r["id"] for r in index.rows()] == live
    assert list(index.ids()) == sorted(m["id"] for m in metas)
    assert index.extent() == {"rows": 50, "live": 49, "max_id": max(m["id"] for m in metas)}


def test_concurrent_puts_keep_seq_dense_and_counts_exact(url: str, index: SampleIndex):
    rng = random.Random(13)
    metas = make_metas(rng, 160)
    others = [index, SampleIndex(url)]  # two engines: on PostgreSQL as two hosts would be
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for meta in metas[k::4]:
                others[k % 2].put(meta)
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    others[1].close()
    assert errors == []
    check_exact(index, {m["id"]: m for m in metas}, windows=(50,))


def test_migrations_reach_head_and_match_the_models(index: SampleIndex):
    with index.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata) == []
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert index.revision() == HEAD_REVISION == ScriptDirectory.from_config(config).get_current_head()
    index.migrate()  # again: nothing to do
    assert index.revision() == HEAD_REVISION


def test_a_database_of_an_earlier_revision_migrates_with_its_rows(url: str):
    """Rows written, the schema taken back to 0001 (before the learner's queue index and the revision
    count), then up again: every row and count survives both ways, and the schema matches the models."""
    old = SampleIndex(url)
    old.migrate()
    metas = make_metas(random.Random(3), 40)
    old.put_many(metas)
    before = dump(old)
    old.downgrade("0001")
    with old.engine.connect() as conn:
        assert "index_revision" not in sa_inspect(conn).get_table_names()
    assert dump(old) == before
    old.migrate()
    assert dump(old) == before
    with old.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata) == []
    assert [row["id"] for row in old.pending(100)] == sorted(
        m["id"] for m in metas if stats.status(m) == "pending" and not m.get("deleted"))
    check_exact(old, {m["id"]: m for m in metas}, windows=(50,))
    old.close()


def test_a_summary_is_kept_until_any_process_writes(url: str, index: SampleIndex):
    """The stats page is polled: a summary is computed once per write, not per request, and a write by
    another process (here: another SampleIndex on the same database) is seen at once."""
    metas = {m["id"]: m for m in make_metas(random.Random(5), 80)}
    index.put_many(metas.values())
    first = index.summary()
    assert index.summary() is first  # nobody wrote: the same answer, not computed again
    assert index.summary(7) is not first and index.summary(7) == stats.summary(list(metas.values()), 7)
    other = SampleIndex(url)
    changed = {**next(iter(metas.values())), "status": "learned"}
    metas[changed["id"]] = changed
    other.put(changed)
    other.close()
    assert index.summary() is not first
    check_exact(index, metas, windows=(50, 7))


def test_urls():
    assert str(engine_url("postgres://u:p@db.example:5432/d")) == "postgresql+psycopg://u:***@db.example:5432/d"
    assert engine_url("postgresql://u@h/d").drivername == "postgresql+psycopg"
    assert engine_url("sqlite:///var/digitdraw.db").drivername == "sqlite"


def test_heroku_postgres_url_connects(pg_database: str):
    found = SampleIndex(pg_database.replace("postgresql://", "postgres://"))
    assert found.healthy()
    found.close()


def test_sqlite_is_in_wal_mode(tmp_path: Path):
    found = SampleIndex(f"sqlite:///{tmp_path}/a/b/digitdraw.db")
    with found.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    found.close()
