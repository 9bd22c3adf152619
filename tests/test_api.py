"""Every success and error path of the JSON API, through the real app."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from app.offline import pendigits


@pytest.fixture(scope="module")
def seven(pen_digits) -> str:
    digit = next(d for d in pendigits.held_out(pen_digits) if d.label == 7)
    return pendigits.data_url(pendigits.render(pendigits.fit_to_canvas(digit.strokes)))


def _assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and len(body["error"]["message"]) > 10
    assert "Traceback" not in response.get_data(as_text=True)


def test_predict_reads_a_drawn_seven(client, seven):
    response = client.post("/api/predict", json={"image": seven})
    assert response.status_code == 200
    body = response.get_json()
    assert body["answer"] == 7 and body["recognized"] is True and body["reason"] is None
    assert 0.5 <= body["confidence"] <= 1.0
    assert set(body["models"]) == {"fnn", "cnn", "fnn_online", "cnn_online"}
    for model in body["models"].values():
        top = model["top3"]
        assert len(top) == 3 and [p for _, p in top] == sorted((p for _, p in top), reverse=True)
        assert len({d for d, _ in top}) == 3 and sum(p for _, p in top) <= 1.0001
    assert body["model_version"] == {"fnn_online": 0, "cnn_online": 0}
    preview = Image.open(io.BytesIO(base64.b64decode(body["preview"].split(",", 1)[1])))
    assert preview.size == (28, 28) and np.asarray(preview).max() > 200


def test_predict_accepts_the_original_form_field(client, seven):
    response = client.post("/api/predict", data={"imageBase64": seven})
    assert response.status_code == 200 and response.get_json()["answer"] == 7


def test_a_scribble_is_refused_as_no_digit(client, seven):
    """Random ink is no digit: the two nets disagree on it, and the not-a-digit detector refuses it however sure
    either net is (one of them reads this one as a 0 with 0.84), while a drawn 7 is answered."""
    rng = np.random.default_rng(0)
    noise = (rng.random((280, 280)) > 0.5).astype(np.uint8) * 255
    image = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    image.putalpha(Image.fromarray(noise))
    scribble = client.post("/api/predict", json={"image": pendigits.data_url(image)}).get_json()
    digit = client.post("/api/predict", json={"image": seven}).get_json()
    models = scribble["models"]
    assert models["fnn_online"]["top3"][0][0] != models["cnn_online"]["top3"][0][0]
    assert (scribble["answer"], scribble["recognized"], scribble["reason"]) == (None, False, "not_a_digit")
    assert (digit["answer"], digit["reason"]) == (7, None)


def test_health(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    # the shared test app stores corrections without learning (LEARNING=False); tests/test_reference.py has it on
    assert response.get_json() == {"status": "ok",
                                   "learning": {"on": False, "reason": "learning is turned off on this server"},
                                   "model_version": {"fnn_online": 0, "cnn_online": 0}}


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"data": "{not json", "content_type": "application/json"}, 400, "bad_json"),
        ({"json": ["a", "list"]}, 400, "bad_json"),
        ({"json": {}}, 400, "missing_image"),
        ({"json": {"image": 42}}, 400, "bad_image"),
        ({"json": {"image": "data:image/png;base64,@@@"}}, 400, "bad_base64"),
        ({"json": {"image": "data:image/png;base64," + base64.b64encode(b"hello").decode()}}, 415, "not_an_image"),
        ({"data": {"other": "field"}}, 400, "missing_image"),
        ({"data": "hello", "content_type": "text/plain"}, 415, "unsupported_media_type"),
        ({"json": {"image": "A" * (2_900_000)}}, 413, "too_large"),
        ({"data": "x" * (4 * 1024 * 1024), "content_type": "application/json"}, 413, "too_large"),
    ],
)
def test_predict_errors(client, kwargs, status, code):
    _assert_error(client.post("/api/predict", **kwargs), status, code)


def test_empty_canvas_is_422(client):
    blank = pendigits.data_url(Image.new("RGBA", (280, 280), (0, 0, 0, 0)))
    _assert_error(client.post("/api/predict", json={"image": blank}), 422, "empty_drawing")


def test_unknown_route_and_wrong_method_are_json(client):
    _assert_error(client.get("/api/nothing-here"), 404, "not_found")
    _assert_error(client.get("/api/predict"), 405, "method_not_allowed")
