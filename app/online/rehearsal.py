"""Which MNIST digits ride along with an online step: the ones the online net has drifted on most.

A random replay draw is mostly digits the net still reads with near-zero loss; their gradient is
almost nil, so they hardly pull a step back towards what everyone else draws. Ranking candidates
by how much their loss has risen since the weights shipped (in the spirit of "maximally interfered
retrieval", Aljundi et al. 2019) rehearses exactly what earlier steps have started to break.
Measured on the held-out pendigits stream (`bench/learn.py`): after 4,995 steps MNIST accuracy
fell 0.12 pp (CNN) and 0.13 pp (FNN), against 0.19 and 0.50 pp with 32 random replay digits; with
less accumulated damage the guard refuses fewer fixing steps (together with the step-length search
of `app.online.learner`, misreads fixed at once rose from 69 % to 94 %).

The candidates are a window sliding over a fixed shuffle of the pool (`Window`): each version the
oldest `batch` leave and as many new ones join, so every pool digit is a candidate for
candidates / batch versions in turn. Ranking a fresh draw of 512 meant the CNN's largest product
each correction (512×1568 by 1568×625, 10 ms on one core); a window carries its candidates'
first-layer sums across the step instead (`app.online.probe.carried_first`) and computes them only
for the newcomers, a third of the multiply-adds.

>>> import numpy as np
>>> from app.nets.fnn import FNN
>>> net = FNN.initialise(seed=0)
>>> x, y = np.random.default_rng(0).random((50, 28, 28), np.float32), np.arange(50) % 10
>>> rehearsal = Rehearsal(x, y, {"fnn_online": net}, candidates=20, batch=5)
>>> window = rehearsal.window("fnn_online", net.online_weights(), turn=0)
>>> picked_features, picked_y = rehearsal.pick("fnn_online", net.online_weights(), window)  # FNN features: pixels
>>> picked_features.shape, picked_y.shape
((5, 28, 28), (5,))
>>> later = rehearsal.advance("fnn_online", window, None, net.online_weights())
>>> len(set(window.rows) & set(later.rows)), later.turn  # five left, five joined
(15, 1)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.nets.cnn_forward import head_proba, proba_from_first
from app.nets.fnn import cross_entropy
from app.online.probe import carried_first, first_layer
from app.online.steps import Step


def _losses(features: np.ndarray, labels: np.ndarray, weights: list[np.ndarray]) -> np.ndarray:
    """Each digit's loss under a net's online weights: both nets end in the same two dense layers over their
    frozen features (app.online.probe), read here in NumPy."""
    return cross_entropy(head_proba(features.reshape(len(features), -1), weights), labels)


@dataclass(frozen=True)
class Window:
    """One net's candidates at one turn: pool rows `rows`, oldest first, and their first-layer sums F·W1 under
    the net's weights at that turn."""

    turn: int
    rows: np.ndarray
    first: np.ndarray


class Rehearsal:
    """A pool of MNIST training digits and, per online net, their loss under the shipped weights."""

    def __init__(self, x: np.ndarray, y: np.ndarray, shipped: dict[str, Any], candidates: int = 512,
                 batch: int = 64, seed: int = 0) -> None:
        self.y = y
        self.candidates = min(candidates, len(y))
        self.batch = min(batch, self.candidates)
        self._order = np.random.default_rng(seed).permutation(len(y))
        # online steps never change these features (see `frozen_features`), so they are computed once
        self._features = {name: model.frozen_features(x) for name, model in shipped.items()}
        self._shipped_loss = {name: _losses(self._features[name], y, model.online_weights())
                              for name, model in shipped.items()}

    def _rows(self, turn: int, first: int, count: int) -> np.ndarray:
        """Window positions first … first + count − 1 of `turn`: the shuffled pool read cyclically."""
        return self._order[(turn * self.batch + first + np.arange(count)) % len(self._order)]

    def window(self, name: str, weights: list[np.ndarray], turn: int) -> Window:
        """The candidates of `turn` under a net's online `weights`, their sums computed afresh."""
        rows = self._rows(turn, 0, self.candidates)
        return Window(turn, rows, first_layer(self._features[name][rows], weights[0]))

    def pick(self, name: str, weights: list[np.ndarray], window: Window) -> tuple[np.ndarray, np.ndarray]:
        """The `batch` candidates whose loss has risen most for the net whose online weights are `weights` (those
        `window` was carried to): their frozen features (what the net's step is computed from) and labels."""
        loss = cross_entropy(proba_from_first(window.first, weights[1:]), self.y[window.rows])
        rise = loss - self._shipped_loss[name][window.rows]
        chosen = window.rows[np.argsort(rise)[::-1][: self.batch]]
        return self._features[name][chosen], self.y[chosen]

    def advance(self, name: str, window: Window, step: Step | None, weights: list[np.ndarray]) -> Window:
        """The next turn's window once the net has taken `step` (None: kept its weights) to `weights`: the oldest
        `batch` candidates leave, the others' sums are carried across the step, the newcomers' computed."""
        stay_rows, stay_first = window.rows[self.batch:], window.first[self.batch:]
        if step is not None:
            stay_first = carried_first(self._features[name][stay_rows], stay_first, step)
        new_rows = self._rows(window.turn + 1, self.candidates - self.batch, self.batch)
        new_first = first_layer(self._features[name][new_rows], weights[0])
        return Window(window.turn + 1, np.concatenate([stay_rows, new_rows]), np.concatenate([stay_first, new_first]))
