"""An online step in the form it is stored: per tensor, an int8 direction and one float32 length.

A version used to be every weight of both nets (4.2 MB), written on each correction. A step only
moves the online weights (the FNN's, the CNN's dense layers) along one gradient, so the learner rounds
that gradient to int8 codes with a scale per output unit (`Direction`) and every step length it tries
is a multiple of it (`Direction.step`). The step it keeps is stored as those codes (Zstandard-compressed)
plus one coefficient per tensor, and applied as `w + coefficient × code` in float32 elementwise
arithmetic, which rounds the same on every IEEE machine: a web worker that applies the stored step
to the parent version's weights holds exactly the learner's new weights, so rollback to any kept
version is exact (app.online.versions keeps full snapshots every few versions to bound the chain).

Rounding the gradient moves each weight by at most half a code (1/254 of its unit's largest
gradient) from the exact step; the canary guard judges the step actually taken.

>>> import numpy as np
>>> gradient = [np.array([[0.5, -1.0], [0.25, 0.0]], np.float32), np.array([2.0, 0.0], np.float32)]
>>> step = Direction.of(gradient).step(0.1)
>>> weights = [np.ones((2, 2), np.float32), np.ones(2, np.float32)]
>>> moved = step.apply(weights)
>>> [np.round(w.astype(float), 3).tolist() for w in moved]
[[[0.95, 1.1], [0.975, 1.0]], [0.8, 1.0]]
>>> decoded = from_bytes(to_bytes({"fnn": step}))["fnn"]
>>> all((a == b).all() for a, b in zip(decoded.apply(weights), moved))
True
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import zstandard

CODE_LIMIT = 127  # int8 codes run over ±127, so a direction and its negation are stored alike
# Zstandard's level 1: 1.07 MB of codes → 0.59 MB in 2.3 ms, where zlib's fastest level took 18 ms for 0.63 MB (the
# learner's largest single cost per correction); higher levels save < 1 % more in twice the time
COMPRESS_LEVEL = 1
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # steps written before Zstandard are deflated .npz archives, which np.load reads


def _unit_peaks(gradient: np.ndarray) -> np.ndarray:
    """The largest |gradient| of each output unit (the last axis), kept broadcastable against the tensor."""
    if gradient.ndim == 1:
        return np.abs(gradient)
    return np.abs(gradient).max(axis=tuple(range(gradient.ndim - 1)), keepdims=True)


@dataclass(frozen=True)
class Direction:
    """One net's gradient for its online weights, rounded to int8 codes × a float32 scale per output unit."""

    scales: list[np.ndarray]
    codes: list[np.ndarray]

    @classmethod
    def of(cls, gradient: list[np.ndarray]) -> Direction:
        scales, codes = [], []
        for tensor in gradient:
            scale = (_unit_peaks(tensor) / CODE_LIMIT).astype(np.float32)
            safe = np.where(scale > 0, scale, np.float32(1))
            codes.append(np.rint(tensor / safe).clip(-CODE_LIMIT, CODE_LIMIT).astype(np.int8))
            scales.append(scale)
        return cls(scales, codes)

    def step(self, rate: float) -> Step:
        """The step of `rate` along the negative gradient: w ← w − rate × gradient, as stored and applied."""
        return Step([(np.float32(-rate) * scale).astype(np.float32) for scale in self.scales], self.codes)


@dataclass(frozen=True)
class Step:
    """A step that `apply` takes exactly alike in every process."""

    coefficients: list[np.ndarray]  # float32, broadcastable against each tensor
    codes: list[np.ndarray]  # int8

    def apply(self, weights: list[np.ndarray]) -> list[np.ndarray]:
        return [np.add(w, np.multiply(q, c, dtype=np.float32), dtype=np.float32)
                for w, c, q in zip(weights, self.coefficients, self.codes, strict=True)]



def to_bytes(steps: Mapping[str, Step]) -> bytes:
    """Several nets' steps as one .npz (`<net>_c<i>`, `<net>_q<i>`) in a Zstandard frame at COMPRESS_LEVEL."""
    buffer = io.BytesIO()
    np.savez(buffer, **{f"{net}_{kind}{i}": np.asarray(array) for net, step in steps.items()
                        for kind, arrays in (("c", step.coefficients), ("q", step.codes))
                        for i, array in enumerate(arrays)})
    return zstandard.ZstdCompressor(level=COMPRESS_LEVEL).compress(buffer.getvalue())


def from_bytes(data: bytes) -> dict[str, Step]:
    """The steps `to_bytes` wrote, by net."""
    if data.startswith(_ZSTD_MAGIC):
        data = zstandard.ZstdDecompressor().decompress(data)
    with np.load(io.BytesIO(data)) as arrays:
        nets = {name.split("_c")[0] for name in arrays.files if "_c" in name}
        found = {}
        for net in nets:
            count = sum(1 for name in arrays.files if name.startswith(f"{net}_c"))
            found[net] = Step([arrays[f"{net}_c{i}"] for i in range(count)],
                              [arrays[f"{net}_q{i}"] for i in range(count)])
        return found
