"""Online steps as stored (int8 codes, Zstandard) and as the learner scores them (`Probe`)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import zstandard

from app.nets.cnn import CNN
from app.nets.cnn_forward import CNNForward
from app.nets.fnn import FNN
from app.nets.gradient import Outer
from app.online.probe import Probe
from app.online.reference import ReferenceDigits
from app.online.steps import MAX_RANK, Direction, OuterCodes, as_array, from_bytes, to_bytes

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def canary() -> tuple[np.ndarray, np.ndarray]:
    reference = ReferenceDigits.load(ROOT / "models")
    return reference.canary_x, reference.canary_y


def shipped(name: str) -> FNN | CNN:
    return FNN.load(ROOT / "models" / "fnn.npz") if name == "fnn" else CNN.load(ROOT / "models" / "cnn.weights.h5")


@pytest.mark.parametrize("name", ["fnn", "cnn"])
def test_a_probe_reads_every_length_as_the_applied_weights_do(name, canary):
    net = shipped(name)
    weights = net.online_weights()
    x, y = canary
    features = net.frozen_features(x)
    # a gradient of the wrong labels, so that long steps change many readings
    direction = Direction.of(net.gradient_from_features(features[:88], (y[:88] + 1) % 10))
    assert isinstance(direction.codes[0], OuterCodes) == (name == "cnn")  # the CNN's kernel step: as its factors
    probe = Probe.of(features, weights, direction)
    # read through the web workers' NumPy forward pass, as served
    server = FNN.from_bytes(net.to_bytes()) if name == "fnn" else CNNForward(net.get_weights())
    for rate in (0.01, 0.3, 2.0):
        step = direction.step(rate)
        moved = step.apply(weights)
        taken = server.copy()
        taken.set_online_weights(moved)
        exact = taken.proba_from_features(features)
        assert np.abs(probe.proba(step) - exact).max() < 1e-5
        assert (probe.proba(step).argmax(1) == exact.argmax(1)).mean() > 0.999
        assert np.allclose(probe.moved_first(step), features.reshape(len(x), -1) @ moved[0], rtol=1e-4, atol=1e-4)


def test_a_step_round_trips_and_reads_the_steps_of_earlier_formats():
    rng = np.random.default_rng(0)
    step = Direction.of([rng.normal(size=(30, 5)).astype(np.float32), rng.normal(size=5).astype(np.float32)]).step(0.2)
    data = to_bytes({"fnn": step})
    assert data[:4] == b"\x28\xb5\x2f\xfd"  # a Zstandard frame
    assert zstandard.ZstdDecompressor().decompress(data)[8:9] == b"{"  # of safetensors: its JSON header's length
    weights = [np.ones((30, 5), np.float32), np.zeros(5, np.float32)]
    back = from_bytes(data)["fnn"]
    assert all(np.array_equal(a, b) for a, b in zip(back.apply(weights), step.apply(weights), strict=True))
    entries = {"fnn_c0": step.coefficients[0], "fnn_q0": step.codes[0], "fnn_c1": step.coefficients[1],
               "fnn_q1": step.codes[1]}
    deflated, plain = io.BytesIO(), io.BytesIO()  # the earlier formats: a deflated .npz; an .npz in Zstandard
    np.savez_compressed(deflated, **entries)
    np.savez(plain, **entries)
    for old in (deflated.getvalue(), zstandard.ZstdCompressor().compress(plain.getvalue())):
        assert all(np.array_equal(a, b) for a, b in
                   zip(from_bytes(old)["fnn"].apply(weights), step.apply(weights), strict=True))


@pytest.fixture(scope="module")
def cnn_gradient(canary) -> tuple[CNN, np.ndarray, np.ndarray]:
    net = shipped("cnn")
    x, y = canary
    return net, net.frozen_features(x[:88]), y[:88]


def test_the_cnns_kernel_gradient_as_an_outer_product_is_kerass_own(cnn_gradient):
    net, features, y = cnn_gradient
    layers = net.model.layers
    head = layers[next(i for i, layer in enumerate(layers) if isinstance(layer, tf.keras.layers.Flatten)) + 1:]
    hidden_kernel = next(layer for layer in head if isinstance(layer, tf.keras.layers.Dense)).kernel
    with tf.GradientTape() as tape:  # Keras's own gradient of the whole kernel, from the model's layers
        logits = tf.convert_to_tensor(features)
        for layer in head:
            logits = layer(logits, training=False)
        loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits)
    expected = tape.gradient(loss, hidden_kernel).numpy()
    outer = net.gradient_from_features(features, y)[0]
    assert isinstance(outer, Outer) and outer.inputs.shape == (88, 1568) and outer.deltas.shape == (88, 625)
    assert np.abs(outer.dense() - expected).max() <= 1e-5 * np.abs(expected).max()


def test_a_step_stored_as_factors_applies_exactly_and_writes_a_fifth(cnn_gradient):
    net, features, y = cnn_gradient
    gradient = net.gradient_from_features(features, y)
    direction = Direction.of(gradient)
    codes = as_array(direction.codes[0])
    assert np.array_equal(codes, np.rint(codes)) and np.abs(codes).max() <= MAX_RANK * 127**2  # exact integers
    rounded = codes * direction.scales[0]
    exact = gradient[0].dense()
    assert float((rounded * exact).sum() / np.linalg.norm(rounded) / np.linalg.norm(exact)) > 0.999  # same direction
    step = direction.step(0.004)
    weights = net.online_weights()
    back = from_bytes(to_bytes({"cnn": step}))["cnn"]
    assert all(np.array_equal(a, b) for a, b in zip(back.apply(weights), step.apply(weights), strict=True))
    dense = Direction.of([exact, *gradient[1:]]).step(0.004)  # the same step with its kernel codes written out
    assert len(to_bytes({"cnn": step})) < len(to_bytes({"cnn": dense})) / 4
