"""The two nets: exact gradients, learning steps, and lossless save/load."""

from __future__ import annotations

import numpy as np
import pytest

from app.nets.cnn import CNN
from app.nets.fnn import FNN


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(7)
    return rng.random((6, 28, 28)).astype(np.float32), rng.integers(0, 10, 6)


def test_fnn_backward_matches_finite_differences(batch):
    x, y = batch
    net = FNN.initialise(seed=3, l2=1e-3)
    net = FNN({k: v.astype(np.float64) for k, v in net.params.items()}, l2=1e-3)
    x = x.astype(np.float64)
    _, grads = net.loss_and_gradients(x, y)
    rng = np.random.default_rng(0)
    eps = 1e-6
    for name, param in net.params.items():
        for index in map(tuple, rng.integers(0, param.shape, size=(8, param.ndim))):
            saved = param[index]
            param[index] = saved + eps
            plus = net.loss(x, y)
            param[index] = saved - eps
            minus = net.loss(x, y)
            param[index] = saved
            numeric = (plus - minus) / (2 * eps)
            assert abs(numeric - grads[name][index]) <= 1e-6 + 1e-4 * abs(numeric), (name, index)


def test_fnn_probabilities_are_a_distribution(batch):
    probs = FNN.initialise(seed=1).predict_proba(batch[0])
    assert probs.shape == (6, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert (probs > 0).all()


@pytest.mark.parametrize("net_class", [FNN, CNN])
def test_a_few_steps_fit_a_batch(net_class, batch):
    x, y = batch
    net = net_class.initialise(seed=2)
    first = net.loss(x, y)
    for _ in range(60):
        net.learn(x, y, learning_rate=0.1)
    assert net.loss(x, y) < first / 2
    assert (net.predict_proba(x).argmax(axis=1) == y).mean() >= 5 / 6


@pytest.mark.parametrize(("net_class", "suffix"), [(FNN, ".npz"), (CNN, ".weights.h5")])
def test_save_load_round_trip_is_exact(net_class, suffix, batch, tmp_path):
    net = net_class.initialise(seed=4)
    net.learn(*batch, learning_rate=0.01)
    path = tmp_path / f"net{suffix}"
    net.save(path)
    loaded = net_class.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(batch[0]), net.predict_proba(batch[0]))


@pytest.mark.parametrize("net_class", [FNN, CNN])
def test_copy_learns_without_touching_the_original(net_class, batch):
    original = net_class.initialise(seed=5)
    before = original.predict_proba(batch[0])
    clone = original.copy()
    clone.learn(*batch, learning_rate=0.1)
    np.testing.assert_array_equal(original.predict_proba(batch[0]), before)
    assert not np.allclose(clone.predict_proba(batch[0]), before)
