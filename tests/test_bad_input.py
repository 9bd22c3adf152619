"""What a hostile client sends: deep JSON, huge numbers, identifiers with a trailing newline, megabytes of
strokes, and (hypothesis) arbitrary JSON. Never a 5xx, always the one error shape, never a traceback logged."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.samples.storage import LocalStorage
from app.samples.store import SampleStore
from app.web.schemas import MAX_POINTS, MAX_STROKES, MAX_T_MS, SEVEN_DATA_URL

TOKEN = "bad-input-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BODY_PATHS = ("/api/predict", "/api/correct", "/api/internals", "/api/models/rollback")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bad-input")


@pytest.fixture(scope="module")
def hostile_app(make_app, data_dir: Path) -> Iterator[Flask]:
    """Learning off (fast), the admin API on so rollback's body is reached."""
    yield make_app(DATA_DIR=data_dir, LEARNING=False, ADMIN_TOKEN=TOKEN)


def _refused(response, code: str, status: int = 400) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body


def _no_traceback_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


@pytest.mark.parametrize("path", BODY_PATHS)
def test_json_nested_a_thousand_deep_is_bad_json_without_a_traceback(hostile_app, caplog, path):
    caplog.set_level(logging.DEBUG)
    client = hostile_app.test_client()
    for deep in ("[" * 1000 + "]" * 1000, '{"image": ' + "[" * 1000 + "]" * 1000 + "}"):
        _refused(client.post(path, data=deep, content_type="application/json", headers=AUTH), "bad_json")
    _no_traceback_logged(caplog)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"label": 7, "strokes": [[[10**400, 0.5]]]}, "bad_strokes"),
        ({"label": 7, "strokes": [[[0.5, 0.5, 10**400]]]}, "bad_strokes"),
        ({"label": 10**400}, "bad_label"),
        ({"label": 7, "predicted": -(10**400)}, "bad_predicted"),
        ({"label": 7, "person": "abcdefgh\n"}, "bad_person"),
        ({"label": 7, "strokes": [[[0.5, 0.5]]] * (MAX_STROKES + 1)}, "bad_strokes"),
        ({"label": 7, "strokes": [[[0.5, 0.5]] * (MAX_POINTS // 2 + 1)] * 2}, "bad_strokes"),
        ({"label": 7, "strokes": [[[1.2, 0.5]]]}, "bad_strokes"),  # past the canvas' 10 % margin
        ({"label": 7, "strokes": [[[0.5, -0.2]]]}, "bad_strokes"),
        ({"label": 7, "strokes": [[[0.5, 0.5, -1]]]}, "bad_strokes"),
        ({"label": 7, "strokes": [[[0.5, 0.5, MAX_T_MS + 1]]]}, "bad_strokes"),
        ({"label": 7, "strokes": [[[0.5, True]]]}, "bad_strokes"),
        ({"label": 7, "strokes": [[["0.5", 0.5]]]}, "bad_strokes"),
        ({"label": 7, "strokes": [[[0.5, 0.5, 1, 2]]]}, "bad_strokes"),
    ],
)
def test_hostile_corrections_are_refused_by_field(hostile_app, caplog, body, code):
    caplog.set_level(logging.DEBUG)
    _refused(hostile_app.test_client().post("/api/correct", json={"image": SEVEN_DATA_URL, **body}), code)
    _no_traceback_logged(caplog)


def test_person_and_sample_ids_are_matched_whole(hostile_app):
    client = hostile_app.test_client()
    _refused(client.post("/api/predict", json={"image": SEVEN_DATA_URL, "person": "abcdefgh\n"}), "bad_person")
    assert client.post("/api/predict", json={"image": SEVEN_DATA_URL, "person": "abcdefgh"}).status_code == 200
    _refused(client.get("/api/samples/20000101T000000000000Z-00000000%0A"), "not_found", 404)


def test_strokes_at_the_bounds_are_stored_rounded(hostile_app, data_dir):
    """The largest trajectory allowed is kept, to a ten-thousandth of the side and the millisecond: a few KB."""
    per_stroke = MAX_POINTS // MAX_STROKES
    strokes = [[[1 / 3, -0.1, 1000 * s + 16.4 * i + 0.6] for i in range(per_stroke)] for s in range(MAX_STROKES)]
    reply = hostile_app.test_client().post("/api/correct", json={"image": SEVEN_DATA_URL, "label": 7,
                                                                 "strokes": strokes})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    meta = next(m for m in SampleStore(LocalStorage(data_dir)).all() if m["id"] == reply.get_json()["sample_id"])
    assert meta["strokes"][0][:2] == [[0.3333, -0.1, 1], [0.3333, -0.1, 17]]
    assert len(json.dumps(meta["strokes"])) < 100_000  # full-precision floats would be ~2.5 times that


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
FIELDS = ("image", "imageBase64", "label", "predicted", "strokes", "person", "consent", "source", "version")
JUNK_BODIES = st.one_of(
    JSON,
    st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=len(FIELDS)),
    st.fixed_dictionaries({"image": st.just(SEVEN_DATA_URL)},
                          optional={name: JSON for name in FIELDS if name != "image"}),
)


@settings(max_examples=120, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(path=st.sampled_from(BODY_PATHS), body=JUNK_BODIES)
def test_any_json_body_gets_an_answer_in_the_error_shape(hostile_app, path, body):
    response = hostile_app.test_client().post(path, data=json.dumps(body), content_type="application/json",
                                              headers=AUTH)
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    if response.status_code >= 400:
        error = response.get_json()
        assert set(error) == {"error"} and set(error["error"]) == {"code", "message"}, error
