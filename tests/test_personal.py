"""A person's own last layer: learns their quirks for them alone, stored hashed, on both backends."""

from __future__ import annotations

import numpy as np
import pytest

from app.offline import pendigits
from app.online import personal
from app.online.personal import People, PersonalHead, person_hash
from app.samples.s3 import S3Storage
from app.samples.storage import LocalStorage
from app.samples.store import SampleStore
from tests.s3server import BUCKET

ALICE, BOB = "alice-0123456789abcdef", "bob-0123456789abcdef"


@pytest.fixture(scope="module")
def person_app(make_app):
    """Shared learning off: a person's layer learns all the same, and what it learns must reach no one else. (With
    it on, the shared pair learns from everyone's corrections, Alice's too: models/README.md says how far.)"""
    return make_app(LEARNING=False)


@pytest.fixture(scope="module")
def ones(pen_digits) -> list[str]:
    """One held-out writer's drawn 1s."""
    digits = [d for d in pendigits.held_out(pen_digits) if d.writer == 25 and d.label == 1][:8]
    return [pendigits.data_url(pendigits.render(pendigits.fit_to_canvas(d.strokes))) for d in digits]


def _predict(client, image: str, person: str | None = None) -> dict:
    body = {"image": image} | ({"person": person} if person else {})
    response = client.post("/api/predict", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_a_persons_quirk_is_learned_for_them_alone(person_app, ones):
    """Alice means 7 by what everyone else draws as 1: after a few corrections the app reads her 1s as 7s."""
    client = person_app.test_client()
    *taught, unseen = ones
    assert _predict(client, unseen, ALICE)["answer"] == 1
    assert "personal" not in _predict(client, unseen, ALICE)["models"]  # nothing learned from her yet
    for image in taught:
        reply = client.post("/api/correct", json={"image": image, "label": 7, "predicted": 1, "person": ALICE})
        assert reply.status_code == 200 and reply.get_json()["stored"] is True
    alice = _predict(client, unseen, ALICE)
    assert alice["answer"] == 7 and alice["answered_by"] == "personal"
    assert alice["models"]["personal"]["top3"][0][0] == 7
    for someone_else in (_predict(client, unseen, BOB), _predict(client, unseen)):
        assert someone_else["answer"] == 1 and someone_else["answered_by"] == "online"
        assert "personal" not in someone_else["models"]


def test_the_person_is_stored_as_a_hash_only(person_app, ones, tmp_path):
    client = person_app.test_client()
    person = "carol-0123456789abcdef"
    reply = client.post("/api/correct", json={"image": ones[0], "label": 1, "predicted": 1, "person": person})
    assert reply.get_json()["after"]["models"]["personal"]["top3"][0][0] == 1
    data_dir = person_app.extensions["settings"].data_dir
    meta = next(m for m in SampleStore(LocalStorage(data_dir)).all() if m["id"] == reply.get_json()["sample_id"])
    assert meta["person"] == person_hash(person) != person
    stored = (data_dir / People.key(person)).read_bytes()
    assert person.encode() not in stored
    detail = client.get(f"/api/samples/{meta['id']}").get_json()
    assert "person" not in detail and "client" not in detail


@pytest.mark.parametrize("person", ["short", "has space inside", "x" * 65, 12345678, ["list-of-id"]])
@pytest.mark.parametrize("endpoint", ["/api/predict", "/api/correct"])
def test_a_malformed_person_is_refused_and_nothing_is_stored(person_app, ones, person, endpoint):
    data_dir = person_app.extensions["settings"].data_dir
    before = len(list(SampleStore(LocalStorage(data_dir)).all()))
    response = person_app.test_client().post(endpoint, json={"image": ones[0], "label": 1, "person": person})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_person"
    assert len(list(SampleStore(LocalStorage(data_dir)).all())) == before


def test_a_failing_personal_store_keeps_the_sample_and_the_answer(make_app, tmp_path, ones):
    """People's layers cannot be written (their folder is a file): the correction still lands."""
    app = make_app(DATA_DIR=tmp_path / "var", LEARNING=True)
    (tmp_path / "var").mkdir(exist_ok=True)
    (tmp_path / "var" / "people").write_text("not a folder")
    client = app.test_client()
    reply = client.post("/api/correct", json={"image": ones[0], "label": 1, "predicted": 1, "person": ALICE})
    assert reply.status_code == 200
    body = reply.get_json()
    assert body["stored"] is True and body["after"]["answer"] == 1 and body["after"]["answered_by"] == "online"
    assert [m["id"] for m in SampleStore(LocalStorage(tmp_path / "var")).all()] == [body["sample_id"]]
    assert _predict(client, ones[1], ALICE)["answered_by"] == "online"


def _head_inputs(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(625, 10)), np.zeros(10), rng.random((40, 625))


def test_a_head_that_reads_worse_than_the_shared_pair_is_not_trusted():
    kernel, bias, features = _head_inputs()
    head = PersonalHead.fresh(kernel, bias)
    labels = np.random.default_rng(1).integers(0, 10, len(features))  # noise: it cannot read these beforehand
    for x, label in zip(features[:10], labels[:10], strict=True):
        head.learn_one(x, int(label), shared_right=True)
    assert head.own_right.sum() < head.shared_right.sum() and not head.trusted


def test_a_head_keeps_only_the_latest_drawings(monkeypatch):
    monkeypatch.setattr(personal, "MAX_DRAWINGS", 5)
    kernel, bias, features = _head_inputs()
    head = PersonalHead.fresh(kernel, bias)
    for i, x in enumerate(features[:8]):
        head.learn_one(x, i % 10, shared_right=False)
    assert head.size == 5 and head.labels.tolist() == [3, 4, 5, 6, 7]
    assert np.allclose(head.features.astype(np.float32), features[3:8], atol=1e-2)


def test_a_head_round_trips_and_is_dropped_for_other_shipped_weights():
    kernel, bias, features = _head_inputs()
    head = PersonalHead.fresh(kernel, bias)
    head.learn_one(features[0], 3, shared_right=False)
    data = head.to_bytes("shipped-a")
    again = PersonalHead.from_bytes(data, kernel, bias, "shipped-a")
    assert again is not None
    assert np.array_equal(again.predict_proba(features), head.predict_proba(features))
    assert again.labels.tolist() == [3] and again.trusted == head.trusted
    assert PersonalHead.from_bytes(data, kernel, bias, "shipped-b") is None


def test_people_share_heads_across_workers_on_s3(s3_client, s3_prefix):
    """Two workers over one bucket: what one learns for a person, the other reads, and neither loses a step."""
    kernel, bias, features = _head_inputs()
    first, second, third = (People(S3Storage(BUCKET, s3_prefix, s3_client), kernel, bias, "shipped")
                            for _ in range(3))
    first.learn(ALICE, features[0], 4, shared_right=False)
    second.learn(ALICE, features[1], 4, shared_right=False)  # on top of the first worker's step
    head = third.head(ALICE)
    assert head is not None and head.labels.tolist() == [4, 4]
    assert third.head(BOB) is None
    keys = [k["Key"] for k in s3_client.list_objects_v2(Bucket=BUCKET, Prefix=s3_prefix)["Contents"]]
    assert len(keys) == 1 and keys[0].endswith(People.key(ALICE)) and ALICE not in keys[0]
