"""A drawing's pen trajectory as a fixed-length vector, for the strokes net (app.nets.strokes).

The picture loses what the pen did: a 4 drawn as an open loop on a stem looks like a 6, but the pen went down,
across and up where a 6's goes down and round. The page sends the strokes anyway (as fractions of the canvas;
the number page and corrections too), and pendigits has them for every training digit.

All strokes are joined in drawing order (the jump from one stroke's end to the next one's start is part of the
path, flagged), centred on their box and scaled by its longer side, then resampled at `POINTS` evenly spaced
distances along the path: so neither the device's sampling rate nor the pen's speed changes the vector, only the
shape and order of the writing. Per point: x, y and whether it lies on a jump; per step between points: its
direction (cos, sin); and the box's aspect (width, height over the longer side).

>>> import numpy as np
>>> seven = [[(0.2, 0.2), (0.7, 0.2), (0.4, 0.8)]]
>>> v = features(seven)
>>> v.shape, features([[(x * 3 + 1, y * 3) for x, y in seven[0]]]).round(5).tolist() == v.round(5).tolist()
((160,), True)
>>> features([[(0.5, 0.5)]]) is None  # a dot has no trajectory
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

POINTS = 32
SIZE = 5 * POINTS  # x, y, jump per point; cos, sin per step (POINTS − 1); the aspect (2)

Point = Sequence[float]


def features(strokes: Sequence[Sequence[Point]]) -> np.ndarray | None:
    """The vector for one drawing (float32, `SIZE`), or none when the pen never moved (a dot, or nothing)."""
    points, jumps = [], []
    for stroke in strokes:
        for i, point in enumerate(stroke):
            jumps.append(i == 0 and bool(points))
            points.append(point[:2])
    if len(points) < 2:
        return None
    path = np.array(points, dtype=np.float64)
    low, high = path.min(axis=0), path.max(axis=0)
    side = float((high - low).max())
    if side <= 0.0:
        return None
    path = (path - (low + high) / 2) / side
    steps = np.linalg.norm(np.diff(path, axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    at = np.linspace(0.0, along[-1], POINTS)
    x, y = np.interp(at, along, path[:, 0]), np.interp(at, along, path[:, 1])
    segment = np.clip(np.searchsorted(along, at, side="right") - 1, 0, len(steps) - 1)
    on_jump = np.array(jumps[1:], dtype=np.float64)[segment]
    direction = np.stack([np.diff(x), np.diff(y)], axis=1)
    direction /= np.linalg.norm(direction, axis=1, keepdims=True) + 1e-9
    return np.concatenate([x, y, on_jump, direction[:, 0], direction[:, 1], (high - low) / side]).astype(np.float32)
