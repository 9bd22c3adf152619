"""A dense kernel's gradient in the form backpropagation computes it, before the product is taken."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Outer:
    """A kernel's gradient as `inputs.T @ deltas`: a batch's layer inputs (B × in) and pre-activation deltas
    (B × out), kept apart because the product is B times larger than both."""

    inputs: np.ndarray
    deltas: np.ndarray

    def dense(self) -> np.ndarray:
        return self.inputs.T @ self.deltas
