"""A 784-100-10 fully connected net in plain NumPy: forward, backward and SGD are ours to read.

The two verbs follow online learners (River): `predict_proba` for a batch of 28×28 images and `learn`
for one gradient step on a batch, which is all online learning from corrections needs.

>>> import numpy as np
>>> net = FNN.initialise(seed=0)
>>> x = np.zeros((2, 28, 28), np.float32); y = np.array([3, 7])
>>> net.predict_proba(x).shape
(2, 10)
>>> before = net.loss(x, y); _ = net.learn(x, y, learning_rate=0.1); net.loss(x, y) < before
True
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

INPUTS, HIDDEN, CLASSES = 784, 100, 10
Params = dict[str, np.ndarray]
_ORDER = ("w1", "b1", "w2", "b2")


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def cross_entropy(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each row's cross-entropy; the floor keeps a probability of exactly 0 from giving infinity."""
    return -np.log(probs[np.arange(len(labels)), labels] + 1e-12)


class FNN:
    """Two dense layers with ReLU, softmax cross-entropy and L2 on the weights (not the biases)."""

    def __init__(self, params: Params, l2: float = 1e-4) -> None:
        self.params = {k: np.asarray(v) for k, v in params.items()}  # float32; float64 for gradient checks
        self.l2 = l2

    @classmethod
    def initialise(cls, seed: int, l2: float = 1e-4) -> FNN:
        """He initialisation: keeps ReLU activations at a steady scale so SGD starts well."""
        rng = np.random.default_rng(seed)
        params = {
            "w1": rng.normal(0.0, np.sqrt(2.0 / INPUTS), (INPUTS, HIDDEN)),
            "b1": np.zeros(HIDDEN),
            "w2": rng.normal(0.0, np.sqrt(2.0 / HIDDEN), (HIDDEN, CLASSES)),
            "b2": np.zeros(CLASSES),
        }
        return cls({k: v.astype(np.float32) for k, v in params.items()}, l2)

    def copy(self) -> FNN:
        return FNN({k: v.copy() for k, v in self.params.items()}, self.l2)

    def _forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        flat = x.reshape(len(x), INPUTS).astype(self.params["w1"].dtype, copy=False)
        hidden = np.maximum(flat @ self.params["w1"] + self.params["b1"], 0.0)
        return flat, hidden, hidden @ self.params["w2"] + self.params["b2"]

    def hidden(self, x: np.ndarray) -> np.ndarray:
        """Hidden-unit activations, for showing what the net responds to."""
        return self._forward(x)[1]

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (n, 10), for images shaped (n, 28, 28) or (n, 784)."""
        return softmax(self._forward(x)[2])

    def frozen_features(self, x: np.ndarray) -> np.ndarray:
        """Every weight learns online, so nothing can be precomputed: the input itself."""
        return x

    def proba_from_features(self, features: np.ndarray) -> np.ndarray:
        return self.predict_proba(features)

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        return self.loss_and_gradients(x, y)[0]

    def loss_and_gradients(self, x: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
        """Mean cross-entropy + L2 and its exact gradient (checked against finite differences in tests)."""
        flat, hidden, logits = self._forward(x)
        probs = softmax(logits)
        n = len(flat)
        data_loss = cross_entropy(probs, y).mean()
        w1, w2 = self.params["w1"], self.params["w2"]
        penalty = 0.5 * self.l2 * (np.sum(w1 * w1) + np.sum(w2 * w2))
        d_logits = probs
        d_logits[np.arange(n), y] -= 1.0
        d_logits /= n
        d_hidden = (d_logits @ w2.T) * (hidden > 0)
        grads = {
            "w2": hidden.T @ d_logits + self.l2 * w2,
            "b2": d_logits.sum(axis=0),
            "w1": flat.T @ d_hidden + self.l2 * w1,
            "b1": d_hidden.sum(axis=0),
        }
        return float(data_loss + penalty), grads

    def gradient(self, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
        """Gradient of the batch loss, in the order of `online_weights`."""
        grads = self.loss_and_gradients(x, y)[1]
        return [grads[name] for name in _ORDER]

    def gradient_from_features(self, features: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
        """`gradient`: the FNN's frozen features are its input."""
        return self.gradient(features, y)

    def online_weights(self) -> list[np.ndarray]:
        """Every weight is learned online; the name matches the CNN's, which learns only some."""
        return self.get_weights()

    def set_online_weights(self, weights: list[np.ndarray]) -> None:
        self.set_weights(weights)

    def learn(self, x: np.ndarray, y: np.ndarray, learning_rate: float) -> float:
        """One plain SGD step on the batch; returns the loss before the step."""
        loss, grads = self.loss_and_gradients(x, y)
        for name, grad in grads.items():
            self.params[name] -= (learning_rate * grad).astype(self.params[name].dtype)
        return loss

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, l2=np.float32(self.l2), **self.params)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> FNN:
        with np.load(io.BytesIO(data)) as arrays:
            return cls({k: arrays[k] for k in _ORDER}, float(arrays["l2"]))

    def load_bytes(self, data: bytes) -> None:
        """Take weights written by `to_bytes`, in place."""
        self.params = FNN.from_bytes(data).params

    def get_weights(self) -> list[np.ndarray]:
        return [self.params[k].copy() for k in _ORDER]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        dtype = self.params["w1"].dtype
        self.params = {k: np.array(w, dtype=dtype) for k, w in zip(_ORDER, weights, strict=True)}

    def save(self, path: Path) -> None:
        path.write_bytes(self.to_bytes())

    @classmethod
    def load(cls, path: Path) -> FNN:
        return cls.from_bytes(path.read_bytes())
