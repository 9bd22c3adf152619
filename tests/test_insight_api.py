"""The insight API through the real app: /api/stats, /api/samples (+ one sample, its PNG, DELETE),
/api/internals and /api/architecture. Samples are made the way people make them: POST /api/correct."""

from __future__ import annotations

import base64
import io
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from PIL import Image

from app.config import ROOT
from app.offline import pendigits
from app.samples.storage import LocalStorage
from app.samples.store import SampleStore

TOKEN = "insight-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
COUNT = 30


# learning off unless a test asks for it: corrections are then stored only, fast
QUICK = {"ADMIN_TOKEN": TOKEN, "LEARNING": False}


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def drawings(pen_digits) -> list[tuple[int, str, list]]:
    """Held-out drawings as (label, data URL, strokes as the page sends them: fractions of the side)."""
    digits = pendigits.held_out(pen_digits)[:COUNT + 5]
    return [(d.label, pendigits.data_url(image),
             [[[round(x / 500, 4), round(y / 500, 4), 16 * i] for i, (x, y) in enumerate(s)] for s in d.strokes])
            for d, image in pendigits.canvas_drawings(digits)]


def _kind(i: int) -> tuple[str, bool]:
    """The i-th stored sample's source and consent: every third a correction, confirmation, collection;
    every fourth kept without consent."""
    return ("correction", "confirmation", "collection")[i % 3], i % 4 != 3


def _store(client, drawings, count: int = COUNT) -> list[dict[str, Any]]:
    sent = []
    for i, (label, url, strokes) in enumerate(drawings[:count]):
        source, consent = _kind(i)
        body: dict[str, Any] = {"image": url, "label": label, "strokes": strokes, "consent": consent}
        if source == "correction":
            body["predicted"] = (label + 1) % 10
        elif source == "confirmation":
            body["predicted"] = label
        else:
            body["source"] = "collection"
        reply = client.post("/api/correct", json=body)
        assert reply.status_code == 200, reply.get_data(as_text=True)
        sent.append({**body, "id": reply.get_json()["sample_id"], "source": source})
    return sent


@pytest.fixture(scope="module")
def browse(make_app, tmp_path_factory, drawings):
    """An app holding COUNT samples that the tests in this module only read."""
    data_dir = tmp_path_factory.mktemp("insight")
    app = make_app(DATA_DIR=data_dir, **QUICK)
    sent = _store(app.test_client(), drawings)
    return app, sent, data_dir


@pytest.fixture()
def client(browse):
    return browse[0].test_client()


def _assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert len(body["error"]["message"]) > 10


# /api/stats


def test_stats_count_what_was_stored(browse, client):
    _, sent, data_dir = browse
    body = client.get("/api/stats").get_json()
    stored = list(SampleStore(LocalStorage(data_dir)).all())
    totals = body["totals"]
    assert totals["samples"] == COUNT and totals["consented"] == sum(s["consent"] for s in sent)
    assert totals["by_source"] == dict(Counter(s["source"] for s in sent))
    assert totals["by_status"]["not_learned"] == COUNT and totals["people"] == 1
    shown = [s.get("predicted", m["answer"]) for s, m in zip(sent, stored, strict=True)]
    misread = sum(answer != s["label"] for answer, s in zip(shown, sent, strict=True))
    assert totals["misread"] == misread and misread >= COUNT // 3  # every correction at least

    assert [row["total"] for row in body["per_digit"]] == [Counter(s["label"] for s in sent)[d] for d in range(10)]
    today = datetime.now(UTC).date().isoformat()
    assert body["per_day"][-1]["date"] == today and body["per_day"][-1]["total"] == COUNT

    matrix = body["confusion"]["matrix"]
    assert sum(map(sum, matrix)) == COUNT
    for s in sent:
        if s["source"] == "correction":
            assert matrix[s["label"]][s["predicted"]] >= 1

    pre = body["prequential"]
    assert pre["count"] == COUNT and pre["window"] == 50 and pre["index"] == list(range(1, COUNT + 1))
    assert set(pre["series"]) == {"fnn", "cnn", "fnn_online", "cnn_online", "shown"}
    assert pre["overall"]["shown"] == round(1 - misread / COUNT, 4)
    # learning is off here, so the online copies read exactly as the shipped nets do
    assert pre["series"]["fnn_online"] == pre["series"]["fnn"] and pre["overall"]["cnn"] >= 0.8

    assert body["learning"] is False
    assert body["versions"] == {"current": 0, "latest": 0, "baseline": {"version": 0, "canary": {}},
                                "current_canary": {}, "kept": []}


def test_stats_window_is_checked(client):
    assert client.get("/api/stats?window=10").get_json()["prequential"]["window"] == 10
    for bad in ("0", "4", "1001", "ten", "-5", "1e3"):
        _assert_error(client.get(f"/api/stats?window={bad}"), 400, "bad_window")
    _assert_error(client.get("/api/stats?windw=10"), 400, "unknown_parameter")


# /api/samples


def test_samples_lists_shared_drawings_newest_first_in_pages_of_24(browse, client):
    _, sent, _ = browse
    shared = [s for s in sent if s["consent"]][::-1]
    first = client.get("/api/samples").get_json()
    assert (first["total"], first["pages"], first["page"], first["per_page"]) == (len(shared), 1, 1, 24)
    assert [item["id"] for item in first["items"]] == [s["id"] for s in shared]
    assert first["everyone"] is False and first["filters"] == {"label": None, "misread": None, "source": None}
    item = first["items"][0]
    assert set(item) >= {"id", "label", "answer", "predicted", "source", "created", "status", "thumbnail"}
    assert item["thumbnail"] == f"/api/samples/{item['id']}.png" and item["status"] == "not_learned"

    everyone = client.get("/api/samples", headers=ADMIN).get_json()
    assert everyone["everyone"] is True and everyone["total"] == COUNT and everyone["pages"] == 2
    second = client.get("/api/samples?page=2", headers=ADMIN).get_json()
    assert len(everyone["items"]) == 24 and len(second["items"]) == COUNT - 24
    assert [i["id"] for i in everyone["items"] + second["items"]] == [s["id"] for s in sent][::-1]
    past = client.get("/api/samples?page=3", headers=ADMIN).get_json()
    assert past["items"] == [] and past["page"] == 3 and past["total"] == COUNT


def test_samples_filter_by_label_misreading_and_source(browse, client):
    _, sent, _ = browse
    label = Counter(s["label"] for s in sent if s["consent"]).most_common(1)[0][0]
    body = client.get(f"/api/samples?label={label}").get_json()
    assert body["total"] == sum(s["consent"] and s["label"] == label for s in sent)
    assert {item["label"] for item in body["items"]} == {label} and body["filters"]["label"] == label

    wrong = client.get("/api/samples?misread=true&source=correction").get_json()
    assert wrong["total"] == sum(s["consent"] and s["source"] == "correction" for s in sent)
    right = client.get("/api/samples?misread=false&source=confirmation").get_json()
    assert right["total"] == sum(s["consent"] and s["source"] == "confirmation" for s in sent)
    assert client.get("/api/samples?misread=true&source=confirmation").get_json()["total"] == 0
    collected = client.get("/api/samples?source=collection").get_json()["items"]
    assert collected and all(i["source"] == "collection" and i["predicted"] is None for i in collected)
    both = client.get("/api/samples?misread=1").get_json()["total"] + client.get("/api/samples?misread=0").get_json()[
        "total"]
    assert both == sum(s["consent"] for s in sent)
    assert client.get("/api/samples?label=&misread=&source=&page=").get_json()["total"] == both  # empty = any


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("label=10", "bad_label"),
        ("label=-1", "bad_label"),
        ("label=x", "bad_label"),
        ("label=1&label=2", "bad_label"),
        ("misread=maybe", "bad_misread"),
        ("source=upload", "bad_source"),
        ("source=Correction", "bad_source"),
        ("page=0", "bad_page"),
        ("page=-1", "bad_page"),
        ("page=1.5", "bad_page"),
        ("page=99999999", "bad_page"),
        ("per_page=100", "unknown_parameter"),
    ],
)
def test_bad_sample_queries_are_refused(client, query, code):
    _assert_error(client.get(f"/api/samples?{query}"), 400, code)


def test_admin_views_need_the_right_token(client, browse, make_app):
    _assert_error(client.get("/api/samples", headers={"Authorization": "Bearer wrong"}), 403, "forbidden")
    _assert_error(client.get("/api/samples", headers={"Authorization": "Basic abc"}), 401, "unauthorized")
    disabled = make_app(DATA_DIR=browse[2], **{**QUICK, "ADMIN_TOKEN": ""}).test_client()
    _assert_error(disabled.get("/api/samples", headers=ADMIN), 403, "admin_disabled")
    assert disabled.get("/api/samples").status_code == 200


def test_one_sample_with_its_drawing_preview_and_strokes(browse, client):
    _, sent, _ = browse
    sample = next(s for s in sent if s["consent"] and s["source"] == "correction")
    body = client.get(f"/api/samples/{sample['id']}").get_json()
    assert body["id"] == sample["id"] and body["label"] == sample["label"] and body["predicted"] == sample["predicted"]
    assert body["misread"] is True and body["strokes"] == sample["strokes"] and "client" not in body
    assert set(body["models"]) == {"fnn", "cnn", "fnn_online", "cnn_online", "strokes"}  # the strokes net read them
    assert base64.b64decode(body["image"].split(",", 1)[1]) == base64.b64decode(sample["image"].split(",", 1)[1])
    preview = Image.open(io.BytesIO(base64.b64decode(body["preview"].split(",", 1)[1])))
    assert preview.size == (28, 28) and np.asarray(preview).max() > 200

    png = client.get(f"/api/samples/{sample['id']}.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.data == base64.b64decode(sample["image"].split(",", 1)[1])
    assert png.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_unshared_samples_are_for_the_admin_only(browse, client):
    private = next(s for s in browse[1] if not s["consent"])
    _assert_error(client.get(f"/api/samples/{private['id']}"), 404, "unknown_sample")
    _assert_error(client.get(f"/api/samples/{private['id']}.png"), 404, "unknown_sample")
    assert client.get(f"/api/samples/{private['id']}", headers=ADMIN).get_json()["consent"] is False
    png = client.get(f"/api/samples/{private['id']}.png", headers=ADMIN)
    assert png.status_code == 200 and png.headers["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("sample_id", ["nope", "20261123T195301123456Z-XYZ", "20261123T195301123456Z-1A2B3C4D",
                                       "..%5C..%5Cetc", "..%2F..%2Fetc", ".."])
def test_malformed_sample_ids_match_no_route(client, sample_id):
    """Only well-formed ids are routed, so nothing else comes near a storage key."""
    _assert_error(client.get(f"/api/samples/{sample_id}"), 404, "not_found")
    _assert_error(client.get(f"/api/samples/{sample_id}.png"), 404, "not_found")
    _assert_error(client.delete(f"/api/samples/{sample_id}", headers=ADMIN), 404, "not_found")


def test_unknown_samples_are_not_found(client):
    _assert_error(client.get("/api/samples/20000101T000000000000Z-00000000"), 404, "unknown_sample")
    _assert_error(client.get("/api/samples/20000101T000000000000Z-00000000.png"), 404, "unknown_sample")
    _assert_error(client.get("/api/samples/20000101T000000000000Z-00000000?x=1"), 400, "unknown_parameter")


# DELETE /api/samples/<id>


def test_delete_needs_the_admin_token_and_hides_the_sample_everywhere(make_app, tmp_path, drawings):
    app = make_app(DATA_DIR=tmp_path / "var", **QUICK)
    client = app.test_client()
    sent = _store(client, drawings, count=4)
    victim = sent[0]
    url = f"/api/samples/{victim['id']}"

    _assert_error(client.delete(url), 401, "unauthorized")
    _assert_error(client.delete(url, headers={"Authorization": "Bearer wrong"}), 403, "forbidden")
    disabled = make_app(DATA_DIR=tmp_path / "var", **{**QUICK, "ADMIN_TOKEN": ""}).test_client()
    _assert_error(disabled.delete(url, headers=ADMIN), 403, "admin_disabled")
    _assert_error(client.delete("/api/samples/20000101T000000000000Z-00000000", headers=ADMIN), 404, "unknown_sample")
    _assert_error(client.delete(f"{url}.png", headers=ADMIN), 405, "method_not_allowed")
    assert client.get(url).status_code == 200  # nothing happened yet

    reply = client.delete(url, headers=ADMIN)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    assert reply.get_json()["deleted"] is True and reply.get_json()["image_removed"] is True

    # the JSON stays as a tombstone without the strokes; the PNG is gone
    (tombstone,) = [m for m in SampleStore(LocalStorage(tmp_path / "var")).all() if m["id"] == victim["id"]]
    assert tombstone["deleted"] is True and tombstone["strokes"] is None and tombstone["label"] == victim["label"]
    assert not list((tmp_path / "var" / "samples").rglob(f"{victim['id']}.png"))

    _assert_error(client.get(url), 404, "unknown_sample")
    _assert_error(client.get(url, headers=ADMIN), 404, "unknown_sample")
    _assert_error(client.get(f"{url}.png", headers=ADMIN), 404, "unknown_sample")
    assert victim["id"] not in [i["id"] for i in client.get("/api/samples", headers=ADMIN).get_json()["items"]]
    assert client.get("/api/stats").get_json()["totals"]["samples"] == 3
    assert client.get(f"/dataset/{victim['id']}").status_code == 404

    result = app.test_cli_runner().invoke(args=["export", "--format", "jsonl", "--out", str(tmp_path / "out")])
    exported = [json.loads(line)["id"] for line in (tmp_path / "out" / "samples.jsonl").read_text().splitlines()]
    assert result.exit_code == 0 and victim["id"] not in exported and len(exported) == sum(
        s["consent"] for s in sent[1:])

    again = client.delete(url, headers=ADMIN)  # idempotent: a retry after a partial failure finishes the job
    assert again.status_code == 200 and again.get_json()["deleted_at"] == reply.get_json()["deleted_at"]


# /api/internals and /api/architecture


def _decode(url: str) -> Image.Image:
    assert url.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


def test_internals_show_filters_feature_maps_and_top_units(client, drawings):
    _, url, _ = drawings[0]
    reply = client.post("/api/internals", json={"image": url})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    body = reply.get_json()
    assert _decode(body["preview"]).size == (28, 28)
    assert body["answer"] == client.post("/api/predict", json={"image": url}).get_json()["answer"]

    cnn = body["cnn"]
    assert len(cnn["filters"]) == 16 and len(cnn["feature_maps"]) == 16 and len(cnn["feature_peaks"]) == 16
    assert cnn["kernel_size"] == [4, 4]
    assert {(_decode(f).size, _decode(f).mode) for f in cnn["filters"]} == {((48, 48), "RGB")}
    maps = [np.asarray(_decode(m)) for m in cnn["feature_maps"]]
    assert {m.shape for m in maps} == {(28, 28)} and max(m.max() for m in maps) == 255
    assert max(cnn["feature_peaks"]) > 0

    fnn = body["fnn"]
    units = fnn["top_units"]
    assert len(units) == 8 and fnn["hidden_units"] == 100 and 8 <= fnn["active_units"] <= 100
    activations = [u["activation"] for u in units]
    assert activations == sorted(activations, reverse=True) and activations[0] > 0
    assert len({u["unit"] for u in units}) == 8 and all(0 <= u["unit"] < 100 and 0 <= u["pushes_towards"] <= 9
                                                        for u in units)
    assert {_decode(u["weights_image"]).size for u in units} == {(56, 56)}


def test_internals_feature_maps_are_the_first_convolution_of_the_cnn(browse):
    """The NumPy feature maps the page shows agree with Keras's own first convolution."""
    import keras

    from app.nets.cnn import CNN
    from app.nets.cnn_forward import CNNForward
    from app.reading.internals import feature_maps
    from app.runtime import runtime

    with browse[0].app_context():
        served = runtime().ensemble.models["cnn_online"]  # what the page's internals read
    cnn = CNN.load(ROOT / "models" / "cnn.weights.h5")
    digit = np.zeros((28, 28), np.float32)
    digit[6:22, 12:16] = 1.0
    first = next(layer for layer in cnn.model.layers if isinstance(layer, keras.layers.Conv2D))
    expected = np.moveaxis(first(digit[np.newaxis, ..., np.newaxis]).numpy()[0], -1, 0)
    assert np.allclose(feature_maps(CNNForward(served.get_weights()), digit), expected, atol=1e-5)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "missing_image"),
        ({"image": 7}, 400, "bad_image"),
        ({"image": "data:image/png;base64,@@@"}, 400, "bad_base64"),
        ({"image": "data:image/png;base64," + base64.b64encode(_png(Image.new("RGBA", (50, 50)))).decode()},
         422, "empty_drawing"),
    ],
)
def test_internals_refuse_what_predict_refuses(client, body, status, code):
    _assert_error(client.post("/api/internals", json=body), status, code)


def test_architecture_counts_parameters_from_the_nets(client):
    body = client.get("/api/architecture").get_json()
    nets = {net["name"]: net for net in body["nets"]}
    assert nets["fnn"]["parameters"] == 79_510 and nets["cnn"]["parameters"] == 995_381  # models/README.md
    for net in nets.values():
        assert sum(layer["parameters"] for layer in net["layers"]) == net["parameters"]
    assert [layer["kind"] for layer in nets["cnn"]["layers"]].count("Conv2D") == 2
    assert nets["cnn"]["layers"][-1]["output"] == [10]
    from app.nets.cnn import build_model

    keras_model = build_model()  # the definition the page's table must describe
    assert [layer["kind"] for layer in nets["cnn"]["layers"][1:]] == [type(k).__name__ for k in keras_model.layers]
    assert [layer["output"] for layer in nets["cnn"]["layers"][1:]] == [list(k.output.shape[1:])
                                                                         for k in keras_model.layers]
    assert [layer["parameters"] for layer in nets["cnn"]["layers"][1:]] == [k.count_params()
                                                                             for k in keras_model.layers]
    card = json.loads((ROOT / "models" / "card.json").read_text())
    assert body["card"]["accuracy"] == card["accuracy"] and body["card"]["curves"] == card["curves"]


# with learning on: versions and their canary


def test_stats_show_learned_versions_and_their_canary(make_app, tmp_path, drawings):
    app = make_app(DATA_DIR=tmp_path / "var", **{**QUICK, "LEARNING": True})
    client = app.test_client()
    learned = 0
    for label, url, _ in drawings[:2]:
        learned += client.post("/api/correct", json={"image": url, "label": label}).get_json()["learned"]
    body = client.get("/api/stats").get_json()
    versions = body["versions"]
    assert body["learning"] is True and versions["current"] == versions["latest"] == learned >= 1
    assert set(versions["baseline"]["canary"]) == {"fnn_online", "cnn_online"}
    assert versions["current_canary"] == versions["kept"][-1]["canary"]
    assert all(set(r) == {"accuracy", "loss"} for r in versions["current_canary"].values())
    assert body["totals"]["by_status"]["learned"] == learned
