"""The NumPy forward pass that web processes serve with reads exactly as the Keras model it mirrors."""

from __future__ import annotations

import numpy as np
import pytest

from app.config import ROOT
from app.nets.cnn import CNN
from app.nets.cnn_forward import CNNForward
from app.offline import mnist

COUNT = 1000


@pytest.fixture(scope="module")
def digits(mnist_dir) -> tuple[np.ndarray, np.ndarray]:
    data = mnist.load(mnist_dir)
    return data.x_test[:COUNT].astype(np.float32) / 255.0, data.y_test[:COUNT]


@pytest.fixture(scope="module")
def shipped() -> CNN:
    return CNN.load(ROOT / "models" / "cnn.weights.h5")


def _agree(keras_net: CNN, numpy_net: CNNForward, x: np.ndarray) -> None:
    expected, got = keras_net.predict_proba(x), numpy_net.predict_proba(x)
    assert np.abs(expected - got).max() <= 1e-5
    assert (expected.argmax(axis=1) == got.argmax(axis=1)).all()
    assert np.abs(keras_net.hidden(x) - numpy_net.hidden(x)).max() <= 1e-4
    assert np.abs(keras_net.frozen_features(x) - numpy_net.frozen_features(x)).max() <= 1e-4


def test_the_shipped_weights_read_the_same_in_numpy(shipped, digits):
    x, y = digits
    numpy_net = CNNForward.load(ROOT / "models" / "cnn.weights.h5")
    _agree(shipped, numpy_net, x)
    assert (numpy_net.predict_proba(x).argmax(axis=1) == y).mean() > 0.98  # and it is the trained net


def test_online_weights_read_the_same_in_numpy(shipped, digits):
    x, y = digits
    online = shipped.copy()
    for _ in range(3):  # online steps move the dense layers away from the shipped ones
        online.learn(x[:64], (y[:64] + 1) % 10, learning_rate=0.05)
    numpy_net = CNNForward.from_bytes(online.to_bytes())
    assert np.abs(numpy_net.out - shipped.output_layer()[0]).max() > 1e-3
    _agree(online, numpy_net, x)
    assert numpy_net.to_bytes() == online.to_bytes()  # the same weights give the same bytes, whichever net
    shipped_numpy = CNNForward.load(ROOT / "models" / "cnn.weights.h5")
    shipped_numpy.load_bytes(online.to_bytes())  # what a web worker does when it adopts a version
    _agree(online, shipped_numpy, x)


def test_first_feature_maps_match_the_first_keras_convolution(shipped, digits):
    import keras

    x = digits[0][:16]
    first = next(layer for layer in shipped.model.layers if isinstance(layer, keras.layers.Conv2D))
    expected = first(x[..., np.newaxis]).numpy()
    got = CNNForward.load(ROOT / "models" / "cnn.weights.h5").first_feature_maps(x)
    assert got.shape == (16, 28, 28, 16) and np.abs(expected - got).max() <= 1e-5
