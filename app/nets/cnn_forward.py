"""The CNN's forward pass in NumPy, from the very weights Keras trains (app/nets/cnn.py).

Serving needs only the forward pass, and importing TensorFlow costs a web process about 530 MB and
seconds of start-up; this module needs NumPy (and h5py to read the shipped weights file) only.
Keras stays the definition for training and for online steps; tests/test_cnn_forward.py holds the two
to the same probabilities (max |Δp| ≤ 1e-5) on shipped and on online weights.

The architecture is the one `build_model` defines: two 4×4 "same" convolutions with ReLU, each
followed by 2×2 max pooling, a 625-unit ReLU dense layer and 10 logits. Convolutions are one
matrix product over the image's 4×4 patches (im2col), which BLAS does far faster than loops.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> shapes = [(4, 4, 1, 16), (16,), (4, 4, 16, 32), (32,), (1568, 625), (625,), (625, 10), (10,)]
>>> net = CNNForward([rng.normal(0, 0.1, s).astype(np.float32) for s in shapes])
>>> p = net.predict_proba(np.zeros((2, 28, 28), np.float32))
>>> p.shape, bool(np.allclose(p.sum(axis=1), 1.0))
((2, 10), True)
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

KERNEL = 4
DROPOUT = 0.5  # before the last layer while training; half of it before the dense layer (app.nets.cnn)
# TensorFlow's "same" padding for an even kernel puts the extra row and column after the image
PAD_BEFORE = (KERNEL - 1) // 2
# where Keras writes each layer's kernel and bias in a `.weights.h5` file, in get_weights() order
H5_LAYERS = ("conv2d", "conv2d_1", "dense", "dense_1")


def conv_relu(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """A stride-1 "same" convolution plus ReLU: (n, h, w, c) images, (k, k, c, filters) kernel."""
    n, h, w, channels = x.shape
    # zeros around the image, written into directly: np.pad's general machinery took longer than the product
    padded = np.zeros((n, h + KERNEL - 1, w + KERNEL - 1, channels), np.float32)
    padded[:, PAD_BEFORE:PAD_BEFORE + h, PAD_BEFORE:PAD_BEFORE + w] = x
    patches = sliding_window_view(padded, (KERNEL, KERNEL), axis=(1, 2))  # (n, h, w, c, k, k)
    # order each patch as the kernel is laid out (row, column, channel) so one reshape lines them up
    columns = patches.transpose(0, 1, 2, 4, 5, 3).reshape(n * h * w, KERNEL * KERNEL * channels)
    out = columns @ kernel.reshape(-1, kernel.shape[-1]) + bias
    return np.maximum(out, 0.0).reshape(n, h, w, kernel.shape[-1])


def max_pool(x: np.ndarray) -> np.ndarray:
    """2×2 max pooling with stride 2 (the sides here are even: 28 → 14 → 7): the larger of the four corners'
    strided views, element by element, which NumPy does several times faster than a max over two axes."""
    return np.maximum(np.maximum(x[:, 0::2, 0::2], x[:, 0::2, 1::2]), np.maximum(x[:, 1::2, 0::2], x[:, 1::2, 1::2]))


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def head_proba(features: np.ndarray, online: Sequence[np.ndarray]) -> np.ndarray:
    """Class probabilities from the frozen features under the dense layers `online` (kernel, bias, kernel,
    bias): what an online step changes, and what a web worker serves from the weights it follows."""
    return proba_from_first(features @ online[0], online[1:])


def proba_from_first(first: np.ndarray, rest: Sequence[np.ndarray]) -> np.ndarray:
    """`head_proba` from the first dense layer's sums F·W1 and the rest of the layers (bias, kernel, bias):
    the learner carries those sums from version to version, the largest product being paid once."""
    dense_bias, out, out_bias = rest
    return softmax(np.maximum(first + dense_bias, 0.0) @ out + out_bias)


class CNNForward:
    """The CNN for serving: probabilities, the 625 hidden units, and the first layer's feature maps."""

    def __init__(self, weights: list[np.ndarray]) -> None:
        self.set_weights(weights)

    @classmethod
    def load(cls, path: Path) -> CNNForward:
        """The shipped weights, read from the Keras weights file without Keras."""
        with h5py.File(path, "r") as weights_file:
            return cls([weights_file[f"layers/{layer}/vars/{i}"][()] for layer in H5_LAYERS for i in (0, 1)])

    @classmethod
    def from_bytes(cls, data: bytes) -> CNNForward:
        """Weights as `CNN.to_bytes` writes them for online versions (.npz, get_weights() order)."""
        with np.load(io.BytesIO(data)) as arrays:
            return cls([arrays[f"arr_{i}"] for i in range(len(arrays.files))])

    def layers(self) -> list[dict[str, Any]]:
        """The architecture layer by layer, as Keras builds it, with output shapes and parameter counts from
        these weights: what the models page shows."""
        side, (filters1, filters2) = 28, (self.conv1.shape[-1], self.conv2.shape[-1])
        size = f"{KERNEL}×{KERNEL}"
        return [
            {"kind": "Input", "detail": "28×28 image", "output": [side, side], "parameters": 0},
            {"kind": "Reshape", "detail": "28×28 → 28×28×1", "output": [side, side, 1], "parameters": 0},
            {"kind": "Conv2D", "detail": f"{filters1} filters {size}, same, relu", "output": [side, side, filters1],
             "parameters": int(self.conv1.size + self.bias1.size)},
            {"kind": "MaxPooling2D", "detail": "max 2×2", "output": [side // 2, side // 2, filters1], "parameters": 0},
            {"kind": "Conv2D", "detail": f"{filters2} filters {size}, same, relu",
             "output": [side // 2, side // 2, filters2], "parameters": int(self.conv2.size + self.bias2.size)},
            {"kind": "MaxPooling2D", "detail": "max 2×2", "output": [side // 4, side // 4, filters2], "parameters": 0},
            {"kind": "Flatten", "detail": "into one vector", "output": [self.dense.shape[0]], "parameters": 0},
            {"kind": "Dropout", "detail": f"drop {DROPOUT / 2:.0%} while training", "output": [self.dense.shape[0]],
             "parameters": 0},
            {"kind": "Dense", "detail": f"{self.dense.shape[1]} units, relu", "output": [self.dense.shape[1]],
             "parameters": int(self.dense.size + self.dense_bias.size), "learns_online": True},
            {"kind": "Dropout", "detail": f"drop {DROPOUT:.0%} while training", "output": [self.dense.shape[1]],
             "parameters": 0},
            {"kind": "Dense", "detail": f"{self.out.shape[1]} units, logits → softmax", "output": [self.out.shape[1]],
             "parameters": int(self.out.size + self.out_bias.size), "learns_online": True},
        ]

    def get_weights(self) -> list[np.ndarray]:
        return [self.conv1, self.bias1, self.conv2, self.bias2, self.dense, self.dense_bias, self.out, self.out_bias]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Weights in Keras' get_weights() order: two conv kernels and biases, two dense kernels and biases."""
        conv1, bias1, conv2, bias2, dense, dense_bias, out, out_bias = (np.asarray(w, np.float32) for w in weights)
        self.conv1, self.bias1, self.conv2, self.bias2 = conv1, bias1, conv2, bias2
        self.dense, self.dense_bias, self.out, self.out_bias = dense, dense_bias, out, out_bias

    def online_weights(self) -> list[np.ndarray]:
        """The dense layers, which online steps move (`CNN.online_weights`), in the same order."""
        return [self.dense, self.dense_bias, self.out, self.out_bias]

    def set_online_weights(self, weights: list[np.ndarray]) -> None:
        self.dense, self.dense_bias, self.out, self.out_bias = (np.asarray(w, np.float32) for w in weights)

    def load_bytes(self, data: bytes) -> None:
        """Take an online version's weights (`CNN.to_bytes`' .npz), in place."""
        self.set_weights(CNNForward.from_bytes(data).get_weights())

    def to_bytes(self) -> bytes:
        """The weights as `CNN.to_bytes` writes them: the same bytes for the same weights (a person's layer is
        keyed by their hash)."""
        buffer = io.BytesIO()
        np.savez(buffer, *self.get_weights())
        return buffer.getvalue()

    def copy(self) -> CNNForward:
        return CNNForward([w.copy() for w in self.get_weights()])

    def output_layer(self) -> tuple[np.ndarray, np.ndarray]:
        """The last layer's kernel (625×10) and bias."""
        return self.out, self.out_bias

    def first_feature_maps(self, x: np.ndarray) -> np.ndarray:
        """The first convolution's output after ReLU, (n, 28, 28, 16): what the internals page shows."""
        return conv_relu(np.asarray(x, np.float32)[..., np.newaxis], self.conv1, self.bias1)

    def frozen_features(self, x: np.ndarray) -> np.ndarray:
        """The flattened convolutional features (n, 1568), which online learning never changes."""
        pooled = max_pool(conv_relu(max_pool(self.first_feature_maps(x)), self.conv2, self.bias2))
        return pooled.reshape(len(pooled), -1)

    def shares_features_with(self, other: CNNForward) -> bool:
        """Whether both nets compute the same frozen features (an online copy: steps move only dense layers)."""
        return all(a is b or np.array_equal(a, b)
                   for a, b in zip(self.get_weights()[:4], other.get_weights()[:4], strict=True))

    def hidden_from_features(self, features: np.ndarray) -> np.ndarray:
        return np.maximum(features @ self.dense + self.dense_bias, 0.0)

    def proba_from_hidden(self, hidden: np.ndarray) -> np.ndarray:
        return softmax(hidden @ self.out + self.out_bias)

    def hidden(self, x: np.ndarray) -> np.ndarray:
        """The 625 dense units the last layer reads (a person's own last layer is fitted on these)."""
        return self.hidden_from_features(self.frozen_features(x))

    def proba_from_features(self, features: np.ndarray) -> np.ndarray:
        return head_proba(features, self.online_weights())

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (n, 10), for float32 images shaped (n, 28, 28)."""
        return self.proba_from_features(self.frozen_features(x))
