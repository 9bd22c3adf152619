"""Which MNIST digits ride along with an online step: the ones the online net has drifted on most.

A random replay draw is mostly digits the net still reads with near-zero loss; their gradient is
almost nil, so they hardly pull a step back towards what everyone else draws. Ranking a random draw
of candidates by how much their loss has risen since the weights shipped (in the spirit of
"maximally interfered retrieval", Aljundi et al. 2019) rehearses exactly what earlier steps have
started to break. Measured on the held-out pendigits stream (`bench/learn.py`): after 4,995
steps MNIST accuracy fell 0.12 pp (CNN) and 0.13 pp (FNN), against 0.19 and 0.50 pp with 32 random
replay digits; with less accumulated damage the guard refuses fewer fixing steps (together with
the step-length search of `app.online.learner`, misreads fixed at once rose from 69 % to 94 %).

>>> import numpy as np
>>> from app.nets.fnn import FNN
>>> net = FNN.initialise(seed=0)
>>> x, y = np.random.default_rng(0).random((50, 28, 28), np.float32), np.arange(50) % 10
>>> rehearsal = Rehearsal(x, y, {"fnn_online": net}, candidates=20, batch=5)
>>> picked_features, picked_y = rehearsal.pick("fnn_online", net.online_weights())  # the FNN's features: its input
>>> picked_features.shape, picked_y.shape
((5, 28, 28), (5,))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.nets.cnn_forward import head_proba
from app.nets.fnn import cross_entropy


def _losses(features: np.ndarray, labels: np.ndarray, weights: list[np.ndarray]) -> np.ndarray:
    """Each digit's loss under a net's online weights: both nets end in the same two dense layers over their
    frozen features (app.online.probe), read here in NumPy (for the CNN's 512 candidates 5.0 ms, where its
    Keras head took 8.7)."""
    return cross_entropy(head_proba(features.reshape(len(features), -1), weights), labels)


class Rehearsal:
    """A pool of MNIST training digits and, per online net, their loss under the shipped weights."""

    def __init__(self, x: np.ndarray, y: np.ndarray, shipped: dict[str, Any], candidates: int = 512,
                 batch: int = 64, seed: int = 0) -> None:
        self.y = y
        self.candidates, self.batch = min(candidates, len(y)), min(batch, len(y))
        self._rng = np.random.default_rng(seed)
        # online steps never change these features (see `frozen_features`), so they are computed once
        self._features = {name: model.frozen_features(x) for name, model in shipped.items()}
        self._shipped_loss = {name: _losses(self._features[name], y, model.online_weights())
                              for name, model in shipped.items()}

    def pick(self, name: str, online: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The `batch` digits, of a random draw of `candidates`, whose loss has risen most for the net whose
        online weights are `online`: their frozen features (what the net's step is computed from) and labels."""
        draw = self._rng.choice(len(self.y), self.candidates, replace=False)
        rise = _losses(self._features[name][draw], self.y[draw], online) - self._shipped_loss[name][draw]
        chosen = draw[np.argsort(rise)[::-1][: self.batch]]
        return self._features[name][chosen], self.y[chosen]
