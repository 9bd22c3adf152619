"""The sample index in the running app: written after storage, read by every page, rebuilt from storage.

Storage is the store of record: whatever happens to the database (down during corrections, a crash
between the two writes, a new empty database), `flask --app app reindex` makes the index agree with
storage again, and no drawing or correction is ever lost.
"""

from __future__ import annotations

import json

import pytest

from app.offline import pendigits
from app.runtime import runtime
from app.samples.index import SampleIndex
from app.samples.reindex import recent_drift, reindex
from app.samples.s3 import S3Storage
from app.samples.storage import LocalStorage
from app.samples.store import SampleStore
from tests.s3server import BUCKET, FlakyProxy, moto_client

TOKEN = "index-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def drawings(pen_digits) -> list[tuple[int, str]]:
    digits = pendigits.held_out(pen_digits)[:12]
    return [(d.label, pendigits.data_url(image)) for d, image in pendigits.canvas_drawings(digits)]


def _correct(client, drawings, consent=lambda i: i % 3 != 2) -> list[dict]:
    replies = []
    for i, (label, url) in enumerate(drawings):
        reply = client.post("/api/correct", json={"image": url, "label": label, "predicted": (label + i % 2) % 10,
                                                  "consent": consent(i)})
        assert reply.status_code == 200, reply.get_data(as_text=True)
        replies.append(reply.get_json())
    return replies


def _snapshot(index: SampleIndex) -> dict:
    """Everything the index answers from: every row (running sums and seq included), the figures, pages."""
    return {
        "rows": [{k: v for k, v in row.items()} for row in index.rows()],
        "ids": list(index.ids()),
        "summary": index.summary(5),
        "counts": index.counts(),
        "pages": [index.page(everyone=everyone, page=1, per_page=5) for everyone in (False, True)],
    }


def test_every_read_path_answers_from_the_index(make_app, tmp_path, drawings):
    app = make_app(DATA_DIR=tmp_path / "var", ADMIN_TOKEN=TOKEN, LEARNING=False)
    client = app.test_client()
    replies = _correct(client, drawings[:6])
    assert all(reply["indexed"] is True for reply in replies)
    assert (tmp_path / "var" / "digitdraw.db").exists()  # the default: SQLite beside the local data

    with app.app_context():
        index = runtime().index
        assert [row["id"] for row in index.rows()] == [reply["sample_id"] for reply in replies]
        # pages, figures and lookups now answer without storage: remove the JSON files and they still do
        for path in (tmp_path / "var" / "samples").rglob("*.json"):
            path.unlink()
        assert client.get("/api/stats").get_json()["totals"]["samples"] == 6
        assert sum(client.get("/api/counts").get_json()["counts"].values()) == 6
        assert client.get("/api/samples", headers=ADMIN).get_json()["total"] == 6
        public = client.get("/api/samples").get_json()
        assert public["total"] == 4 and len(public["items"]) == 4
        shared = public["items"][0]["id"]
        assert client.get(f"/dataset/{shared}").status_code == 200
        assert client.get(f"/api/samples/{shared}.png").status_code == 200  # the blob is still in storage
        assert client.get(f"/api/samples/{shared}").status_code == 404  # its JSON is not: nothing invented


def test_pages_walk_by_cursor_as_by_number(make_app, tmp_path, drawings):
    client = make_app(DATA_DIR=tmp_path / "var", LEARNING=False).test_client()
    _correct(client, drawings, consent=lambda i: True)
    numbered = client.get("/api/samples").get_json()
    assert numbered["next"] is None and numbered["total"] == len(drawings)  # one page of 24 holds them all
    first = client.get("/api/samples?label=&misread=&source=").get_json()
    by_cursor = client.get(f"/api/samples?before={first['items'][3]['id']}").get_json()
    assert [item["id"] for item in by_cursor["items"]] == [item["id"] for item in first["items"][4:]]
    assert by_cursor["page"] is None
    assert client.get("/api/samples?before=nope").get_json()["error"]["code"] == "bad_before"


def test_reindex_from_a_local_folder_reproduces_the_index(make_app, tmp_path, drawings):
    app = make_app(DATA_DIR=tmp_path / "var", ADMIN_TOKEN=TOKEN, LEARNING=False)
    client = app.test_client()
    replies = _correct(client, drawings)
    assert client.delete(f"/api/samples/{replies[1]['sample_id']}", headers=ADMIN).status_code == 200
    with app.app_context():
        live = _snapshot(runtime().index)

    rebuilt = SampleIndex(f"sqlite:///{tmp_path / 'rebuilt.db'}")
    rebuilt.migrate()
    report = reindex(SampleStore(LocalStorage(tmp_path / "var")), rebuilt)
    assert report.indexed == len(drawings) and report.orphans == []
    assert _snapshot(rebuilt) == live
    assert reindex(SampleStore(LocalStorage(tmp_path / "var")), rebuilt).indexed == len(drawings)  # idempotent
    assert _snapshot(rebuilt) == live


def test_reindex_from_s3_into_postgresql_reproduces_the_index(make_app, tmp_path, drawings, moto_endpoint, s3_client,
                                                             s3_prefix, monkeypatch, pg_database):
    for name, value in {"AWS_ENDPOINT_URL": moto_endpoint, "AWS_ACCESS_KEY_ID": "test",
                        "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    app = make_app(DATA_DIR=tmp_path / "var", LEARNING=False, S3_BUCKET=BUCKET, S3_PREFIX=s3_prefix)
    _correct(app.test_client(), drawings)
    with app.app_context():
        live = _snapshot(runtime().index)  # SQLite in the data folder

    on_postgres = SampleIndex(pg_database.replace("postgresql://", "postgres://"))  # as Heroku writes it
    on_postgres.migrate()
    store = SampleStore(S3Storage(BUCKET, s3_prefix, moto_client(moto_endpoint)))
    assert reindex(store, on_postgres).indexed == len(drawings)
    assert _snapshot(on_postgres) == live


def test_a_crash_between_storage_and_index_is_repaired_by_reindex(make_app, tmp_path, drawings):
    app = make_app(DATA_DIR=tmp_path / "var", LEARNING=False)
    client = app.test_client()
    _correct(client, drawings[:3])
    # a process that stored two samples and died before indexing them: storage has them, the index does not
    crashed = SampleStore(LocalStorage(tmp_path / "var"))
    lost = [crashed.add(b"png", {"label": label, "source": "collection", "consent": True, "status": "pending"})[0]
            for label in (4, 2)]
    assert client.get("/api/stats").get_json()["totals"]["samples"] == 3
    with app.app_context():  # what the next start checks (and logs), listing only the newest days' folders
        assert recent_drift(crashed, runtime().index) == sorted(m["id"] for m in lost)

    result = app.test_cli_runner().invoke(args=["reindex"])
    assert result.exit_code == 0, result.output
    assert "indexed 5 samples" in result.output
    assert client.get("/api/stats").get_json()["totals"]["samples"] == 5
    assert {item["id"] for item in client.get("/api/samples").get_json()["items"]} >= {m["id"] for m in lost}


def test_corrections_while_the_database_is_down_lose_nothing(make_app, tmp_path, drawings, pg_server):
    database = pg_server.rsplit(":", 1)[1].split("/", 1)[0]
    proxy = FlakyProxy(int(database))
    url = f"postgresql://postgres@127.0.0.1:{proxy.port}/postgres"
    app = make_app(DATA_DIR=tmp_path / "var", LEARNING=False, DATABASE_URL=url, ADMIN_TOKEN=TOKEN)
    client = app.test_client()
    before = _correct(client, drawings[:2])
    assert all(reply["indexed"] for reply in before)

    proxy.down()
    during = _correct(client, drawings[2:6])
    assert [reply["indexed"] for reply in during] == [False] * 4
    assert all(reply["stored"] is True for reply in during)  # the drawings are safe in storage
    assert client.post("/api/predict", json={"image": drawings[0][1]}).status_code == 200
    down = client.get("/api/stats")
    assert down.status_code == 503 and down.get_json()["error"]["code"] == "storage_unavailable"
    stored = {path.stem for path in (tmp_path / "var" / "samples").rglob("*.json")}
    assert stored == {reply["sample_id"] for reply in before + during}

    proxy.up = True
    with app.app_context():
        assert runtime().samples.retry_index() == 0  # what the flusher thread does every 2 s
        indexed = set(runtime().index.ids())
    assert indexed == stored
    assert client.get("/api/stats").get_json()["totals"]["samples"] == 6
    result = app.test_cli_runner().invoke(args=["reindex"])  # and reindex agrees
    assert result.exit_code == 0 and "indexed 6 samples" in result.output
    with app.app_context():
        assert [json.loads(p.read_text())["id"] for p in sorted((tmp_path / "var" / "samples").rglob("*.json"),
                key=lambda p: p.stem)] == list(runtime().index.ids())
