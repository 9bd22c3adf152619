"""Scoring every length the learner tries along one step for the price of one.

Both online nets end in the same two layers over their frozen features (the FNN's are its pixels,
the CNN's its convolutional features): probabilities = softmax(relu(F·W1 + b1)·W2 + b2). A step
moves W1 by c ⊙ q — one coefficient per hidden unit times the direction's int8 codes
(`app.online.steps`) — so F·(W1 + c ⊙ q) = F·W1 + (F·q) ⊙ c. With F·W1 (kept per version) and F·q
(once per correction) at hand, a candidate length costs an elementwise product and the small second
layer, not the largest matrix product there is: for the CNN on the 1,000 canary digits that product
is 1000×1568×625 multiply-adds, which the guard used to pay for every length it judged, and which
the search for the shortest fixing length paid in applying each candidate to all 980,000 weights.
The sums differ from multiplying by the applied weights only in float32 rounding.

>>> import numpy as np
>>> from app.online.steps import Direction
>>> rng = np.random.default_rng(0)
>>> weights = [rng.normal(size=s).astype(np.float32) for s in ((6, 4), (4,), (4, 3), (3,))]
>>> features = rng.random((5, 6), np.float32)
>>> direction = Direction.of([rng.normal(size=w.shape).astype(np.float32) for w in weights])
>>> probe = Probe.of(features, weights, direction)
>>> step = direction.step(0.3)
>>> w1, b1, w2, b2 = step.apply(weights)
>>> hidden = np.maximum(features @ w1 + b1, 0)
>>> logits = hidden @ w2 + b2
>>> exact = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
>>> bool(np.allclose(probe.proba(step), exact, atol=1e-6))
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.nets.cnn_forward import proba_from_first
from app.online.steps import Direction, Step, left_product


def first_layer(features: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """F·W1 for a net's frozen features (the FNN's are images, flattened here)."""
    return features.reshape(len(features), -1) @ kernel


@dataclass(frozen=True)
class Probe:
    """A fixed set of digits, ready to be read under any length of one step from the same start."""

    first: np.ndarray  # F·W1 at the start weights (n × hidden)
    along: np.ndarray  # F·q: how the first layer's sums move per unit of the step's codes
    start: list[np.ndarray]  # W1, b1, W2, b2
    direction: Direction

    @classmethod
    def of(cls, features: np.ndarray, start: list[np.ndarray], direction: Direction,
           first: np.ndarray | None = None) -> Probe:
        """`first` may be given when it is known already (the canary's, kept per version by the learner)."""
        along = left_product(features.reshape(len(features), -1), direction.codes[0])
        return cls(first_layer(features, start[0]) if first is None else first, along, start, direction)

    def moved_first(self, step: Step) -> np.ndarray:
        """F·W1 after `step`: what `first` becomes once the step is taken."""
        return self.first + self.along * step.coefficients[0]

    def proba(self, step: Step) -> np.ndarray:
        """Class probabilities of the digits under start + `step`, `step` being a length along the direction."""
        rest = Step(step.coefficients[1:], step.codes[1:]).apply(self.start[1:])
        return proba_from_first(self.moved_first(step), rest)


def carried_first(features: np.ndarray, first: np.ndarray, step: Step) -> np.ndarray:
    """F·W1 after `step` from F·W1 before it, for digits no `Probe` was made for (the rehearsal's candidates): the
    step's codes through their factors, a fifth of the product with the moved kernel for the CNN."""
    return first + left_product(features.reshape(len(features), -1), step.codes[0]) * step.coefficients[0]
