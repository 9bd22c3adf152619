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

A dense kernel's gradient over a batch is a sum of one outer product per example (`Outer`: the
layer's inputs times its pre-activation deltas), so its rank is at most the batch. For the CNN's
1568×625 kernel and a batch of 88 (24 views, 64 replay digits) the learner rounds the two factors
instead (`OuterCodes`): 193,000 int8s stored rather than 980,000, and the canary's F·q, the
learner's largest product, becomes (F·L)·R at a tenth of the cost. The codes are the integer
product of the factors; it is below 2^24, so float32 forms it exactly in any summation order and
every process still applies the same step bit for bit.

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
>>> rng = np.random.default_rng(0)
>>> inputs, deltas = rng.random((3, 4), np.float32), rng.normal(size=(3, 2)).astype(np.float32)
>>> outer = Direction.of([Outer(inputs, deltas)]).step(1.0)
>>> exact = np.zeros((4, 2), np.float32) - inputs.T @ deltas
>>> bool(np.abs(outer.apply([np.zeros((4, 2), np.float32)])[0] - exact).max() < 0.02 * np.abs(exact).max())
True
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import safetensors.numpy
import zstandard

from app.nets.gradient import Outer

CODE_LIMIT = 127  # int8 codes run over ±127, so a direction and its negation are stored alike
# Zstandard's level 1: 1.07 MB of codes → 0.59 MB in 2.3 ms, where zlib's fastest level took 18 ms for 0.63 MB (the
# learner's largest single cost per correction); higher levels save < 1 % more in twice the time
COMPRESS_LEVEL = 1
# the most examples an `Outer` may sum while its integer codes stay exact in float32 (|code| ≤ rank × 127²)
MAX_RANK = 2**24 // CODE_LIMIT**2
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_ZIP_MAGIC = b"PK\x03\x04"  # the .npz archives of steps written before safetensors (deflated before Zstandard)


def _unit_peaks(gradient: np.ndarray) -> np.ndarray:
    """The largest |gradient| of each output unit (the last axis), kept broadcastable against the tensor."""
    if gradient.ndim == 1:
        return np.abs(gradient)
    return np.abs(gradient).max(axis=tuple(range(gradient.ndim - 1)), keepdims=True)


def _codes(tensor: np.ndarray, scale: np.ndarray) -> np.ndarray:
    safe = np.where(scale > 0, scale, np.float32(1))
    return np.rint(tensor / safe).clip(-CODE_LIMIT, CODE_LIMIT).astype(np.int8)


@dataclass(frozen=True)
class OuterCodes:
    """Integer codes given as the product `left.T @ right` of two int8 factors (see the module's docstring)."""

    left: np.ndarray  # int8, B × in
    right: np.ndarray  # int8, B × out

    @classmethod
    def of(cls, outer: Outer) -> tuple[np.ndarray, OuterCodes]:
        """Round both factors: each example's inputs by their own peak (folded into its deltas), then the deltas
        by each output unit's peak, which becomes the codes' scale, as `Direction` has it for any tensor."""
        if len(outer.inputs) > MAX_RANK:
            raise ValueError(f"an Outer of more than {MAX_RANK} examples would not be exact in float32")
        row_peaks = (np.abs(outer.inputs).max(axis=1, keepdims=True) / CODE_LIMIT).astype(np.float32)
        left = _codes(outer.inputs, row_peaks)
        folded = outer.deltas * row_peaks
        scale = (_unit_peaks(folded) / CODE_LIMIT).astype(np.float32)
        return scale, cls(left, _codes(folded, scale))

    def dense(self) -> np.ndarray:
        """The codes themselves (float32, exact integers)."""
        return self.left.T.astype(np.float32) @ self.right.astype(np.float32)


Codes = np.ndarray | OuterCodes


def as_array(codes: Codes) -> np.ndarray:
    return codes.dense() if isinstance(codes, OuterCodes) else codes


def left_product(features: np.ndarray, codes: Codes) -> np.ndarray:
    """features @ codes, for codes in either form (factored ones through their factors, never multiplied out)."""
    if isinstance(codes, OuterCodes):
        return (features @ codes.left.T.astype(np.float32)) @ codes.right.astype(np.float32)
    return features @ codes.astype(np.float32)


def _rounded(tensor: np.ndarray | Outer) -> tuple[np.ndarray, Codes]:
    """A tensor's scale per output unit and its codes."""
    if isinstance(tensor, Outer):
        return OuterCodes.of(tensor)
    scale = (_unit_peaks(tensor) / CODE_LIMIT).astype(np.float32)
    return scale, _codes(tensor, scale)


@dataclass(frozen=True)
class Direction:
    """One net's gradient for its online weights, rounded to int8 codes × a float32 scale per output unit."""

    scales: list[np.ndarray]
    codes: list[Codes]

    @classmethod
    def of(cls, gradient: list[np.ndarray | Outer]) -> Direction:
        scales, codes = zip(*(_rounded(tensor) for tensor in gradient), strict=True)
        return cls(list(scales), list(codes))

    def step(self, rate: float) -> Step:
        """The step of `rate` along the negative gradient: w ← w − rate × gradient, as stored and applied."""
        return Step([(np.float32(-rate) * scale).astype(np.float32) for scale in self.scales], self.codes)


@dataclass(frozen=True)
class Step:
    """A step that `apply` takes exactly alike in every process."""

    coefficients: list[np.ndarray]  # float32, broadcastable against each tensor
    codes: list[Codes]

    def apply(self, weights: list[np.ndarray]) -> list[np.ndarray]:
        return [_moved(w, c, q) for w, c, q in zip(weights, self.coefficients, self.codes, strict=True)]


def _moved(weight: np.ndarray, coefficient: np.ndarray, codes: Codes) -> np.ndarray:
    """weight + coefficient × codes in float32, built in one new array: every web worker applies every step, and
    each temporary of the CNN's 1568×625 kernel was a fresh 3.9 MB allocation to fault in (the elementwise part
    of a step took 0.8 ms; the same roundings in place, bit for bit)."""
    if isinstance(codes, OuterCodes):
        moved = codes.dense()
        np.multiply(moved, coefficient, out=moved)
    else:
        moved = np.multiply(codes, coefficient, dtype=np.float32)
    return np.add(weight, moved, out=moved)


def _arrays(net: str, step: Step) -> dict[str, np.ndarray]:
    arrays = {f"{net}_c{i}": np.asarray(c) for i, c in enumerate(step.coefficients)}
    for i, codes in enumerate(step.codes):
        if isinstance(codes, OuterCodes):
            arrays.update({f"{net}_l{i}": codes.left, f"{net}_r{i}": codes.right})
        else:
            arrays[f"{net}_q{i}"] = np.asarray(codes)
    return arrays


def to_bytes(steps: Mapping[str, Step]) -> bytes:
    """Several nets' steps as one safetensors buffer (`<net>_c<i>`, and `<net>_q<i>` or the factors `<net>_l<i>`,
    `<net>_r<i>`) in a Zstandard frame at COMPRESS_LEVEL. Safetensors, not .npz: every web worker decodes every
    step, and NumPy's reader parsed each of a step's 17 arrays' headers with `ast` inside a zip: decoding a CNN and
    FNN step took 1.58 ms, now 0.36 (0.26 of it Zstandard)."""
    arrays = {name: np.ascontiguousarray(array) for net, step in steps.items()
              for name, array in _arrays(net, step).items()}
    return zstandard.ZstdCompressor(level=COMPRESS_LEVEL).compress(safetensors.numpy.save(arrays))


def from_bytes(data: bytes) -> dict[str, Step]:
    """The steps `to_bytes` wrote, by net (and those written before it: .npz, deflated or in a Zstandard frame)."""
    if data.startswith(_ZSTD_MAGIC):
        data = zstandard.ZstdDecompressor().decompress(data)
    if data.startswith(_ZIP_MAGIC):
        with np.load(io.BytesIO(data)) as archive:
            return _steps({name: archive[name] for name in archive.files})
    return _steps(safetensors.numpy.load(data))


def _steps(arrays: Mapping[str, np.ndarray]) -> dict[str, Step]:
    found = {}
    for net in {name.split("_c")[0] for name in arrays if "_c" in name}:
        count = sum(1 for name in arrays if name.startswith(f"{net}_c"))
        found[net] = Step([arrays[f"{net}_c{i}"] for i in range(count)],
                          [arrays[f"{net}_q{i}"] if f"{net}_q{i}" in arrays
                           else OuterCodes(arrays[f"{net}_l{i}"], arrays[f"{net}_r{i}"]) for i in range(count)])
    return found
