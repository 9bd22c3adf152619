"""Online steps as stored (int8 codes, Zstandard) and as the learner scores them (`Probe`)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from app.nets.cnn_forward import CNNForward
from app.nets.fnn import FNN
from app.online.probe import Probe
from app.online.reference import ReferenceDigits
from app.online.steps import Direction, from_bytes, to_bytes

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def canary() -> tuple[np.ndarray, np.ndarray]:
    reference = ReferenceDigits.load(ROOT / "models")
    return reference.canary_x, reference.canary_y


def shipped(name: str) -> tuple[object, list[np.ndarray]]:
    if name == "fnn":
        net = FNN.load(ROOT / "models" / "fnn.npz")
        return net, net.online_weights()
    net = CNNForward.load(ROOT / "models" / "cnn.weights.h5")
    return net, net.online_weights()


@pytest.mark.parametrize("name", ["fnn", "cnn"])
def test_a_probe_reads_every_length_as_the_applied_weights_do(name, canary):
    net, weights = shipped(name)
    x, y = canary
    features = net.frozen_features(x)
    # the FNN's own gradient; the web-side CNN has none, so a random direction of a step's size stands in
    gradient = net.gradient_from_features(features[:64], y[:64]) if name == "fnn" else [
        np.random.default_rng(1).normal(size=w.shape).astype(np.float32) * 1e-3 for w in weights]
    direction = Direction.of(gradient)
    probe = Probe.of(features, weights, direction)
    for rate in (0.01, 0.3, 2.0):
        step = direction.step(rate)
        moved = step.apply(weights)
        taken = net.copy()
        taken.set_online_weights(moved)
        exact = taken.proba_from_features(features)
        assert np.abs(probe.proba(step) - exact).max() < 1e-5
        assert (probe.proba(step).argmax(1) == exact.argmax(1)).mean() > 0.999
        assert np.allclose(probe.moved_first(step), features.reshape(len(x), -1) @ moved[0], rtol=1e-4, atol=1e-4)


def test_a_step_round_trips_and_reads_steps_written_before_zstandard():
    rng = np.random.default_rng(0)
    step = Direction.of([rng.normal(size=(30, 5)).astype(np.float32), rng.normal(size=5).astype(np.float32)]).step(0.2)
    data = to_bytes({"fnn": step})
    assert data[:4] == b"\x28\xb5\x2f\xfd"  # a Zstandard frame
    weights = [np.ones((30, 5), np.float32), np.zeros(5, np.float32)]
    back = from_bytes(data)["fnn"]
    assert all(np.array_equal(a, b) for a, b in zip(back.apply(weights), step.apply(weights), strict=True))
    old = io.BytesIO()  # the earlier format: a deflated .npz archive with the same entries
    np.savez_compressed(old, fnn_c0=step.coefficients[0], fnn_q0=step.codes[0],
                        fnn_c1=step.coefficients[1], fnn_q1=step.codes[1])
    assert all(np.array_equal(a, b) for a, b in
               zip(from_bytes(old.getvalue())["fnn"].apply(weights), step.apply(weights), strict=True))
