"""The strokes net: reads a digit from its pen trajectory (app.reading.trajectory), not from its picture.

A small multilayer perceptron, 160-256-128-10 with ReLU, trained offline in Keras on pendigits' training
writers (app.offline.stroke_training) and served here in NumPy from the same weights, so web processes never
import TensorFlow for it. It never learns online: corrections teach the image nets and the person's own layer.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> net = StrokeNet([rng.normal(0, 0.1, s).astype(np.float32) for s in StrokeNet.shapes(160)])
>>> p = net.predict_proba(np.zeros((2, 160), np.float32))
>>> p.shape, bool(np.allclose(p.sum(axis=1), 1.0))
((2, 10), True)
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np

from app.nets.fnn import softmax

HIDDEN = (256, 128)
CLASSES = 10
STROKES_FILE = "strokes.npz"


class StrokeNet:
    """Dense layers with ReLU between them and softmax after the last; weights as Keras orders them."""

    def __init__(self, weights: list[np.ndarray]) -> None:
        self.weights = [np.asarray(w, dtype=np.float32) for w in weights]

    @staticmethod
    def shapes(inputs: int) -> list[tuple[int, ...]]:
        """Kernel and bias shapes of each layer, in order, for vectors of `inputs` numbers."""
        return [shape for n, m in pairwise((inputs, *HIDDEN, CLASSES)) for shape in ((n, m), (m,))]

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (n, 10), for trajectory vectors shaped (n, 160)."""
        out = np.asarray(x, dtype=np.float32)
        layers = list(zip(self.weights[::2], self.weights[1::2], strict=True))
        for i, (kernel, bias) in enumerate(layers):
            out = out @ kernel + bias
            if i < len(layers) - 1:
                out = np.maximum(out, 0.0)
        return softmax(out)

    def save(self, path: Path) -> None:
        np.savez(path, **{f"w{i}": w for i, w in enumerate(self.weights)})

    @classmethod
    def load(cls, path: Path) -> StrokeNet:
        with np.load(path, allow_pickle=False) as stored:
            return cls([stored[f"w{i}"] for i in range(len(stored.files))])
