"""Reading a number through the API, and correcting it: every digit becomes a sample of its own when the
counts agree, the whole drawing is kept when they do not, and bad input answers 4xx and stores nothing."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from app.offline import pendigits
from app.reading.imaging import decode_image, ink_map, normalise
from app.samples.storage import LocalStorage
from app.samples.store import SampleStore
from tests.test_api import _assert_error

HEIGHT, WIDTH = pendigits.CANVAS, 3 * pendigits.CANVAS
PATHS = ("/api/read", "/api/read/correct")


class Written:
    """A number written left to right from held-out pendigits digits: its picture and pen strokes (pixels, with
    a clock), as the /number page sends them."""

    def __init__(self, digits: list[pendigits.PenDigit], seed: int) -> None:
        self.text = "".join(str(d.label) for d in digits)
        self.pixel_strokes = [s for digit in pendigits.compose_number(digits, np.random.default_rng(seed), (0.3, 0.5))
                              for s in digit]
        self.image = pendigits.render(self.pixel_strokes, HEIGHT, width=WIDTH)
        self.url = pendigits.data_url(self.image)
        clock = iter(range(0, 10**6, 8))
        self.strokes = [[[round(x, 2), round(y, 2), next(clock)] for x, y in stroke] for stroke in self.pixel_strokes]


@pytest.fixture(scope="module")
def written(pen_digits) -> Written:
    """The first held-out 8, 0 and 3, which the shipped nets read right from the image and from the strokes."""
    held = pendigits.held_out(pen_digits)
    return Written([next(d for d in held if d.label == label) for label in (8, 0, 3)], seed=1)


def _pixels(data_url: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))))


def _files(data_dir: Path) -> list[str]:
    return sorted(str(p.relative_to(data_dir)) for p in data_dir.rglob("*") if p.suffix in (".png", ".json"))


def test_read_gives_each_digit_left_to_right_with_box_top3_and_preview(client, written):
    for strokes in (None, written.strokes):
        response = client.post("/api/read", json={"image": written.url, "strokes": strokes})
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        assert body["number"] == written.text and body["recognized"] is True
        digits = body["digits"]
        assert [d["answer"] for d in digits] == [int(c) for c in written.text]
        assert body["confidence"] == pytest.approx(np.prod([d["confidence"] for d in digits]), abs=1e-3)
        lefts = [d["box"][0] for d in digits]
        assert lefts == sorted(lefts)
        for d, right in zip(digits, [*digits[1:], None], strict=True):
            x0, y0, x1, y1 = d["box"]
            assert 0 <= x0 < x1 <= WIDTH and 0 <= y0 < y1 <= HEIGHT
            assert right is None or x1 <= right["box"][2]
            assert len(d["top3"]) == 3 and d["top3"][0][0] == d["answer"]
            preview = _pixels(d["preview"])
            assert preview.shape == (28, 28) and preview.max() > 200


def _bodies(written: Written) -> dict[str, dict[str, Any]]:
    return {"/api/read": {"image": written.url}, "/api/read/correct": {"image": written.url, "number": written.text}}


BLANK = pendigits.data_url(Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0)))


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"image": None}, 400, "missing_image"),
        ({"image": 42}, 400, "bad_image"),
        ({"image": "data:image/png;base64,@@@"}, 400, "bad_base64"),
        ({"image": "data:text/plain;base64,aGVsbG8="}, 415, "not_an_image"),
        ({"image": "data:image/png;base64," + base64.b64encode(b"hello").decode()}, 415, "not_an_image"),
        ({"image": "A" * 2_900_000}, 413, "too_large"),
        ({"image": BLANK}, 422, "empty_drawing"),
        ({"person": "x"}, 400, "bad_person"),
        ({"strokes": "a line"}, 400, "bad_strokes"),
        ({"strokes": [[[10, 10, -1]]]}, 400, "bad_strokes"),
        ({"strokes": [[[10, float("nan")]]]}, 400, "bad_strokes"),
        ({"strokes": [[[1, 1]]] * 65}, 400, "bad_strokes"),
        ({"strokes": [[[1, 1]] * 4097]}, 400, "bad_strokes"),
        ({"strokes": [[[5000, 10]]]}, 400, "bad_strokes"),  # beyond any image
        ({"strokes": [[[WIDTH * 1.2, 10]]]}, 400, "bad_strokes"),  # beyond this one
    ],
)
def test_bad_drawings_are_refused_and_store_nothing(make_app, written, path, change, status, code, tmp_path):
    app = make_app(DATA_DIR=tmp_path)
    body = {**_bodies(written)[path], **change}
    body = {k: v for k, v in body.items() if v is not None}
    _assert_error(app.test_client().post(path, json=body), status, code)
    assert [f for f in _files(tmp_path) if f.startswith(("samples/", "numbers/"))] == []


@pytest.mark.parametrize("path", PATHS)
def test_bodies_that_are_not_json_objects_are_refused(client, path):
    _assert_error(client.post(path, data="{not json", content_type="application/json"), 400, "bad_json")
    _assert_error(client.post(path, json=["a", "list"]), 400, "bad_json")
    _assert_error(client.post(path, data="hello", content_type="text/plain"), 415, "unsupported_media_type")
    _assert_error(client.get(path), 405, "method_not_allowed")


@pytest.mark.parametrize(
    ("change", "code"),
    [({"number": None}, "bad_number"), ({"number": ""}, "bad_number"), ({"number": "20a6"}, "bad_number"),
     ({"number": 2026}, "bad_number"), ({"number": "1234567890123"}, "bad_number"),
     ({"number": "\u0662\u0660"}, "bad_number"), ({"number": " 12"}, "bad_number"),
     ({"consent": "yes"}, "bad_consent")],
    ids=["missing", "empty", "letter", "a-json-number", "13-digits", "arabic-indic", "space", "consent"])
def test_a_bad_number_is_refused_and_stores_nothing(make_app, written, change, code, tmp_path):
    app = make_app(DATA_DIR=tmp_path)
    body = {k: v for k, v in {**_bodies(written)["/api/read/correct"], **change}.items() if v is not None}
    _assert_error(app.test_client().post("/api/read/correct", json=body), 400, code)
    assert [f for f in _files(tmp_path) if f.startswith(("samples/", "numbers/"))] == []


def test_both_endpoints_are_rate_limited_like_predict(make_app, written):
    for path, body in _bodies(written).items():
        client = make_app(RATE_LIMIT="2/minute").test_client()
        answers = [client.post(path, json=body | {"number": "1" * 9}) for _ in range(3)]
        assert [a.status_code for a in answers[:2]] == [200, 200]
        _assert_error(answers[2], 429, "rate_limited")
        assert int(answers[2].headers["Retry-After"]) > 0


def test_a_correction_with_as_many_digits_stores_each_digit_as_a_sample(make_app, written, tmp_path):
    app = make_app(DATA_DIR=tmp_path)
    client = app.test_client()
    corrected = "806"  # the last digit, a 3, corrected to 6
    response = client.post("/api/read/correct", json={"image": written.url, "strokes": written.strokes,
                                                      "number": corrected, "consent": True})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["segmented"] is True and body["whole"] is None and body["number"] == corrected
    assert body["after"]["number"] == written.text
    reading = client.post("/api/read", json={"image": written.url, "strokes": written.strokes}).get_json()
    assert [d["label"] for d in body["digits"]] == [8, 0, 6]
    assert [d["box"] for d in body["digits"]] == [d["box"] for d in reading["digits"]]
    assert all(d["stored"] is True and d["indexed"] is True and d["status"] == "not_learned" for d in body["digits"])

    listed = client.get("/api/samples?source=number").get_json()
    ids = [d["sample_id"] for d in body["digits"]]
    assert sorted(item["id"] for item in listed["items"]) == sorted(ids)
    assert {item["id"]: (item["label"], item["predicted"], item["misread"]) for item in listed["items"]} == {
        ids[0]: (8, 8, False), ids[1]: (0, 0, False), ids[2]: (6, 3, True)}

    stored = {meta["id"]: meta for meta in SampleStore(LocalStorage(tmp_path)).all()}
    assert set(stored) == set(ids) and not (tmp_path / "numbers").exists()
    everything = [p for stroke in written.strokes for p in stroke]
    kept = 0
    for sample_id, digit in zip(ids, reading["digits"], strict=True):
        meta = stored[sample_id]
        assert meta["source"] == "number" and meta["consent"] is True and meta["status"] == "not_learned"
        picture = Image.open(tmp_path / f"samples/{meta['label']}/{meta['created'][:10]}/{sample_id}.png")
        assert picture.width == picture.height == meta["canvas"]["width"] == meta["canvas"]["height"]
        # the stored drawing is exactly the segment the nets read: its 28×28 is the preview's
        np.testing.assert_allclose(normalise(ink_map(picture)), _pixels(digit["preview"]) / 255, atol=1 / 255)
        points = [p for stroke in meta["strokes"] for p in stroke]
        assert all(-0.1 <= x <= 1.1 and -0.1 <= y <= 1.1 for x, y, _ in points) and points[0][2] == 0
        kept += len(points)
    assert kept == len(everything)  # every point of the drawing went to exactly one digit


def test_a_correction_with_another_count_keeps_the_whole_drawing(make_app, written, tmp_path):
    app = make_app(DATA_DIR=tmp_path)
    client = app.test_client()
    response = client.post("/api/read/correct", json={"image": written.url, "strokes": written.strokes,
                                                      "number": "8003", "person": "writer-of-8003"})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["segmented"] is False and body["digits"] == [] and body["whole"]["stored"] is True
    assert body["after"]["number"] == written.text
    assert list(SampleStore(LocalStorage(tmp_path)).all()) == []
    assert client.get("/api/samples").get_json()["total"] == 0

    [meta] = SampleStore(LocalStorage(tmp_path)).numbers()
    assert meta["id"] == body["whole"]["id"] and meta["label"] == "8003" and meta["source"] == "number"
    assert meta["read"] == written.text and meta["consent"] is False
    assert meta["canvas"] == {"width": WIDTH, "height": HEIGHT} and meta["strokes"] == written.strokes
    assert meta["person"] and meta["person"] != "writer-of-8003"  # a hash, never the id itself
    png = tmp_path / f"numbers/{meta['created'][:10]}/{meta['id']}.png"
    np.testing.assert_array_equal(np.asarray(Image.open(png)), np.asarray(decode_image(written.url)))


def test_digits_of_a_number_are_learned_as_single_corrections_are(make_app, written, tmp_path):
    app = make_app(DATA_DIR=tmp_path, LEARNING=True)
    client = app.test_client()
    before = client.get("/api/health").get_json()["model_version"]
    body = client.post("/api/read/correct", json={"image": written.url, "strokes": written.strokes,
                                                  "number": written.text, "person": "number-writer-1"}).get_json()
    statuses = [d["status"] for d in body["digits"]]
    assert set(statuses) <= {"learned", "quarantined"} and "learned" in statuses
    assert all(d["learned"] is (d["status"] == "learned") for d in body["digits"])
    steps = statuses.count("learned")
    assert body["model_version"]["cnn_online"] == before["cnn_online"] + steps
    stored = {meta["id"]: meta for meta in SampleStore(LocalStorage(tmp_path)).all()}
    for digit in body["digits"]:
        assert stored[digit["sample_id"]]["status"] == digit["status"]
        assert stored[digit["sample_id"]]["source"] == "number"
    # the person's own layer learned the digits, so their reading now goes through it
    models = client.post("/api/predict", json={"image": written.url, "person": "number-writer-1"}).get_json()
    assert "personal" in models["models"]
