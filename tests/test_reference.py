"""The learner's reference digits ship in models/: learning runs with no MNIST on the server, and says when not."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.config import ROOT
from app.offline import mnist, pendigits
from app.online.reference import REFERENCE_FILE, ReferenceDigits
from app.reading.model_files import CNN_FILE, FNN_FILE

MODELS = ROOT / "models"


def test_the_shipped_digits_are_mnist_picked_with_seed_0_and_rewritten_byte_for_byte(tmp_path, mnist_dir):
    data = mnist.load(mnist_dir)
    card = json.loads((MODELS / "card.json").read_text())
    assert ReferenceDigits.write(data, tmp_path) == card["files"][REFERENCE_FILE]
    assert (MODELS / REFERENCE_FILE).stat().st_size < 3 * 1024 * 1024
    rng = np.random.default_rng(0)  # the pick the learner made from MNIST before the digits shipped
    test, train = rng.choice(10_000, 1000, replace=False), rng.choice(60_000, 5000, replace=False)
    shipped = ReferenceDigits.load(MODELS)
    np.testing.assert_array_equal(shipped.canary_x, data.x_test[test].astype(np.float32) / 255.0)
    np.testing.assert_array_equal(shipped.canary_y, data.y_test[test])
    np.testing.assert_array_equal(shipped.replay_x, data.x_train[train].astype(np.float32) / 255.0)
    np.testing.assert_array_equal(shipped.replay_y, data.y_train[train])
    assert shipped.canary_y.dtype == shipped.replay_y.dtype == np.int64


@pytest.fixture(scope="module")
def drawing(pen_digits) -> dict:
    [(digit, image)] = pendigits.canvas_drawings(pendigits.held_out(pen_digits)[:1])
    return {"image": pendigits.data_url(image), "label": digit.label}


def test_a_fresh_app_with_no_mnist_anywhere_learns_from_its_first_correction(make_app, tmp_path, drawing,
                                                                              monkeypatch):
    def no_mnist(*args: object, **kwargs: object) -> None:
        raise AssertionError("MNIST was read at run time")

    monkeypatch.setattr(mnist, "load", no_mnist)
    monkeypatch.setattr(mnist, "ensure", no_mnist)
    monkeypatch.setenv("DIGITDRAW_MNIST_DIR", str(tmp_path / "empty"))  # what used to switch learning off
    client = make_app(DATA_DIR=tmp_path / "var", LEARNING=True).test_client()
    assert client.get("/api/health").get_json()["learning"] == {"on": True, "reason": None}
    reply = client.post("/api/correct", json=drawing).get_json()
    assert reply["learned"] is True and reply["reason"].startswith("learned"), reply["reason"]


def _models_with(tmp_path: Path, damage: str) -> Path:
    """A copy of the shipped models whose reference digits are missing or damaged."""
    folder = tmp_path / "models"
    folder.mkdir()
    for name in (FNN_FILE, CNN_FILE, "card.json"):
        shutil.copy(MODELS / name, folder / name)
    if damage == "damaged":
        content = bytearray((MODELS / REFERENCE_FILE).read_bytes())
        content[len(content) // 2] ^= 0xFF
        (folder / REFERENCE_FILE).write_bytes(bytes(content))
    return folder


@pytest.mark.parametrize(("config", "reason"), [
    ({"damage": "damaged"}, "do not match the model card"),
    ({"damage": "missing"}, "are missing"),
    ({"LEARNING": False}, "turned off"),
], ids=["damaged", "missing", "turned-off"])
def test_when_learning_cannot_run_health_and_every_correction_say_why(make_app, tmp_path, drawing, config, reason):
    damage = config.pop("damage", None)
    models = {"MODEL_DIR": _models_with(tmp_path, damage)} if damage else {}
    client = make_app(DATA_DIR=tmp_path / "var", **models, **{"LEARNING": True, **config}).test_client()
    learning = client.get("/api/health").get_json()["learning"]
    assert learning["on"] is False and reason in learning["reason"], learning
    reply = client.post("/api/correct", json=drawing).get_json()
    assert reply["stored"] is True and reply["learned"] is False and reply["reason"] == learning["reason"]
