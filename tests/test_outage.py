"""S3 going away: predictions go on from memory, corrections are spooled and flushed in order."""

from __future__ import annotations

import time

import numpy as np
import pytest

from app.offline import pendigits
from app.runtime import runtime
from app.samples.s3 import S3Storage
from app.samples.store import SampleStore
from tests.s3server import BUCKET, FlakyProxy, moto_client


@pytest.fixture()
def proxy(moto_endpoint, s3_client) -> FlakyProxy:
    return FlakyProxy(int(moto_endpoint.rsplit(":", 1)[1]))


@pytest.fixture()
def s3_app(make_app, proxy, tmp_path, monkeypatch, s3_prefix):
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint)
    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)

    def make():
        return make_app(DATA_DIR=tmp_path / "var", S3_BUCKET=BUCKET, S3_PREFIX=s3_prefix, LEARNING=True)
    return make


@pytest.fixture()
def s3_prefix() -> str:
    return f"outage-{time.time_ns()}"


@pytest.fixture(scope="module")
def drawings(pen_digits) -> list[tuple[int, str]]:
    digits = pendigits.held_out(pen_digits)[:3]
    return [(d.label, pendigits.data_url(image)) for d, image in pendigits.canvas_drawings(digits)]


def _stored_ids(moto_endpoint: str, prefix: str) -> list[str]:
    store = SampleStore(S3Storage(BUCKET, prefix, moto_client(moto_endpoint)))
    return [meta["id"] for meta in store.all()]


def test_outage_spools_corrections_and_flushes_them_in_order(s3_app, proxy, drawings, moto_endpoint, s3_prefix):
    app = s3_app()
    client = app.test_client()
    (label0, url0), (label1, url1), (label2, url2) = drawings
    first = client.post("/api/correct", json={"image": url0, "label": label0}).get_json()
    assert first["stored"] is True and first["learned"] is True

    proxy.down()
    assert client.post("/api/predict", json={"image": url1}).status_code == 200  # from memory
    ids = []
    for label, url in ((label1, url1), (label2, url2)):
        reply = client.post("/api/correct", json={"image": url, "label": label}).get_json()
        assert reply["stored"] == "spooled" and reply["learned"] is False
        ids.append(reply["sample_id"])
    with app.app_context():
        spool = runtime().samples.spool
        assert len(spool.list("samples/")) == 4  # two PNGs and two JSONs, on local disk
    assert _stored_ids(moto_endpoint, s3_prefix) == [first["sample_id"]]

    proxy.up = True
    deadline = time.monotonic() + 15
    while spool.list("samples/") and time.monotonic() < deadline:
        time.sleep(0.2)  # the background flusher drains it
    assert spool.list("samples/") == []
    assert _stored_ids(moto_endpoint, s3_prefix) == [first["sample_id"], *ids]


def test_start_with_s3_down_serves_shipped_weights_then_catches_up(s3_app, proxy, drawings):
    label, url = drawings[0]
    teacher = s3_app().test_client()
    assert teacher.post("/api/correct", json={"image": url, "label": label}).get_json()["learned"]

    proxy.down()
    late = s3_app().test_client()
    assert late.get("/api/health").get_json()["model_version"]["cnn_online"] == 0
    assert late.post("/api/predict", json={"image": url}).status_code == 200

    proxy.up = True
    time.sleep(1.1)  # the staleness check runs at most once a second
    assert late.post("/api/predict", json={"image": url}).get_json()["model_version"]["cnn_online"] == 1


def test_a_number_kept_whole_during_an_outage_is_spooled_then_flushed(s3_app, proxy, pen_digits, moto_endpoint,
                                                                      s3_prefix):
    held = pendigits.held_out(pen_digits)
    strokes = [s for digit in pendigits.compose_number(held[:2], np.random.default_rng(0), (0.3, 0.5)) for s in digit]
    image = pendigits.data_url(pendigits.render(strokes, pendigits.CANVAS, width=3 * pendigits.CANVAS))
    app = s3_app()
    client = app.test_client()
    proxy.down()
    reply = client.post("/api/read/correct", json={"image": image, "number": "123456"}).get_json()
    assert reply["segmented"] is False and reply["whole"]["stored"] == "spooled"
    with app.app_context():
        spool = runtime().samples.spool
    assert len(spool.list("numbers/")) == 2  # its PNG and JSON, on local disk
    store = SampleStore(S3Storage(BUCKET, s3_prefix, moto_client(moto_endpoint)))

    proxy.up = True
    deadline = time.monotonic() + 15
    while spool.list("numbers/") and time.monotonic() < deadline:
        time.sleep(0.2)  # the background flusher drains it
    assert spool.list("numbers/") == []
    assert [(meta["id"], meta["label"]) for meta in store.numbers()] == [(reply["whole"]["id"], "123456")]
