"""Is it a digit at all? A small NumPy detector that answers "not a digit" for crosses, question marks, scribbles.

The nets were trained on digits only, so they read everything as some digit, often confidently ("−" as a
2, "+" as a 4). What they do know is what digits look like *inside*: the detector reads the shipped CNN's
625 hidden units together with evidence of how far a drawing is from every digit seen in training —

- the Mahalanobis distance of those hidden units to each digit's mean in their top `COMPONENTS` principal
  directions, and how much of them lies outside those directions (open-set scores that rise for shapes
  unlike any digit, whether or not anything like them was in training);
- how much of the 28×28 a digit-only pixel PCA cannot reconstruct;
- the shipped FNN's and CNN's probabilities;
- ink statistics: mass, extent, aspect, and the number of separate pieces.

`NETS` 1-hidden-layer nets (`HIDDEN` ReLU units, a logistic output; the same data, different seeds) turn
these into one score, the mean of their logits (one net's verdict on shapes unlike anything in training
varies with its seed by several points per symbol; the mean of five varies less); a drawing is not a digit
above a threshold, which was set on digits alone (app/offline/rejection_training.py) so that it costs at
most a set share of correctly read digits. Only the shipped nets are read, never the online pair: the
detector was fitted to those exact features, and online learning must not move them under it.

A detector trained with `flask train-rejection --with-strokes` holds a second scorer, which reads the same rows
with the pen's path (its trajectory vector and the strokes net's reading of it) when the page sent strokes: a
"+" is two strokes crossing where a 4's meet at a corner, an "e" starts in its middle, and the picture nets see
neither. It learns digits drawn in other orders too, since which way a pen went must not make a digit a
non-digit; it still rejected 2 pp of unseen writers' digits, so the shipped file has none (models/README.md).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path

import numpy as np
from scipy import ndimage

REJECTION_FILE = "not-a-digit.npz"
COMPONENTS = 64  # principal directions of the hidden units the class distances are measured in
PIXEL_COMPONENTS = 40  # of the 28×28 digits, for the reconstruction error
HIDDEN = 64
NETS = 5
INK = 0.3  # a pixel this dark counts as ink for the extent and the pieces
MAX_PIECES = 4
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# pixels that share an edge are one piece (scipy's default, built once here rather than on every call)
EDGE_NEIGHBOURS = ndimage.generate_binary_structure(2, 1)


def ink_features(x: np.ndarray) -> np.ndarray:
    """Per image: ink mass, extent (rows, columns, as fractions of the 20-px box), aspect and pieces (≤ 4)."""
    out = np.zeros((len(x), 5), np.float32)
    for i, image in enumerate(x):
        ink = image > INK
        rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
        height = (rows[-1] - rows[0] + 1) / 20 if rows.size else 0.0
        width = (cols[-1] - cols[0] + 1) / 20 if cols.size else 0.0
        pieces = min(ndimage.label(ink, EDGE_NEIGHBOURS)[1], MAX_PIECES)
        out[i] = (image.sum() / 100, height, width, np.log((width + 0.05) / (height + 0.05)), pieces)
    return out


@dataclass
class DigitSpace:
    """Where digits lie: the hidden units' principal directions with each digit's mean there, and the pixels'.

    Coordinates along `directions` divided by `spread` (each one's standard deviation) are whitened, so
    distances there are Mahalanobis distances under the digits' shared covariance.
    """

    centre: np.ndarray  # (625,)
    directions: np.ndarray  # (625, COMPONENTS), orthonormal
    spread: np.ndarray  # (COMPONENTS,)
    means: np.ndarray  # (10, COMPONENTS), each digit's mean in the whitened coordinates
    pixel_centre: np.ndarray  # (784,)
    pixel_directions: np.ndarray  # (784, PIXEL_COMPONENTS), orthonormal

    @classmethod
    def fit(cls, hidden: np.ndarray, labels: np.ndarray, pixels: np.ndarray) -> DigitSpace:
        """From digits only: their hidden units, labels and 28×28 images."""
        centre = hidden.mean(axis=0)
        _, singular, vt = np.linalg.svd(hidden - centre, full_matrices=False)
        directions = vt[:COMPONENTS].T
        spread = np.maximum(singular[:COMPONENTS] / np.sqrt(len(hidden)), 1e-6)
        projected = (hidden - centre) @ directions / spread
        means = np.stack([projected[labels == k].mean(axis=0) for k in range(10)])
        flat = pixels.reshape(len(pixels), -1)
        pixel_centre = flat.mean(axis=0)
        _, _, pixel_vt = np.linalg.svd(flat - pixel_centre, full_matrices=False)
        return cls(centre, directions, spread, means, pixel_centre, pixel_vt[:PIXEL_COMPONENTS].T)

    def features(self, x: np.ndarray, hidden: np.ndarray) -> np.ndarray:
        """log squared distance to each digit's mean, its minimum, the hidden units' and pixels' residuals."""
        centred = hidden - self.centre
        inside = centred @ self.directions
        distances = ((inside[:, np.newaxis, :] / self.spread - self.means) ** 2).sum(axis=2) / COMPONENTS
        residual = (centred ** 2).sum(axis=1) - (inside ** 2).sum(axis=1)
        total = (centred ** 2).sum(axis=1)
        flat = x.reshape(len(x), -1) - self.pixel_centre
        pixel_inside = flat @ self.pixel_directions
        pixel_residual = (flat ** 2).sum(axis=1) - (pixel_inside ** 2).sum(axis=1)
        return np.column_stack([
            np.log(distances + 1e-3), np.log(distances.min(axis=1) + 1e-3),
            np.log(np.maximum(residual, 0) + 1e-3), np.maximum(residual, 0) / (total + 1e-6),
            np.log(np.maximum(pixel_residual, 0) + 1e-3)]).astype(np.float32)


def features(x: np.ndarray, hidden: np.ndarray, probabilities: dict[str, np.ndarray],
             space: DigitSpace) -> np.ndarray:
    """What the detector reads for a batch (n×28×28 images, their n×625 shipped-CNN hidden units)."""
    return np.column_stack([hidden, probabilities["fnn"], probabilities["cnn"], ink_features(x),
                            space.features(x, hidden)]).astype(np.float32)


def with_strokes(rows: np.ndarray, trajectories: np.ndarray, stroke_probabilities: np.ndarray) -> np.ndarray:
    """What the detector reads when the pen's path was sent: the picture's rows (`features`), the trajectory
    vectors (app.reading.trajectory) and the strokes net's log-probabilities."""
    return np.column_stack([rows, trajectories, np.log(stroke_probabilities + 1e-6)]).astype(np.float32)


@dataclass
class Scorer:
    """`NETS` nets of one hidden layer over standardised feature rows, and the threshold above which a row is no
    digit: standardisation, the nets' weights, their output."""

    mean: np.ndarray
    scale: np.ndarray
    w1: np.ndarray  # (NETS, features, HIDDEN)
    b1: np.ndarray  # (NETS, HIDDEN)
    w2: np.ndarray  # (NETS, HIDDEN)
    b2: np.ndarray  # (NETS,)
    threshold: float

    @cached_property
    def hidden_columns(self) -> tuple[np.ndarray, np.ndarray]:
        """Every net's hidden layer side by side, (features, NETS·HIDDEN) and its bias: one matrix product for all
        of them (half the time of a product per net)."""
        nets, width, hidden = self.w1.shape
        return np.ascontiguousarray(self.w1.transpose(1, 0, 2).reshape(width, nets * hidden)), self.b1.reshape(-1)

    def score(self, feature_rows: np.ndarray) -> np.ndarray:
        """Probability-like score in (0, 1) that each row is not a digit: the sigmoid of the nets' mean logit."""
        standard = (feature_rows - self.mean) / self.scale
        kernel, bias = self.hidden_columns
        hidden = np.maximum(standard @ kernel + bias, 0.0).reshape(len(feature_rows), *self.w2.shape)
        logit = ((hidden * self.w2).sum(axis=2) + self.b2).mean(axis=1)
        return 1.0 / (1.0 + np.exp(-np.clip(logit, -50, 50)))


@dataclass
class NotADigit:
    """The detector: the digit space, a scorer of the picture, and one of the picture and the pen's path together
    (`strokes`; none: drawings are judged by their picture even when strokes were sent)."""

    space: DigitSpace
    picture: Scorer
    strokes: Scorer | None = None

    def rejects(self, x: np.ndarray, hidden: np.ndarray, probabilities: dict[str, np.ndarray],
                trajectories: np.ndarray | None = None, stroke_probabilities: np.ndarray | None = None) -> np.ndarray:
        """True for each image of the batch that is not a digit (`probabilities` by model name, shipped pair read);
        with every row's trajectory and the strokes net's reading of it, judged by the picture and path together."""
        rows = features(x, hidden, probabilities, self.space)
        if self.strokes is None or trajectories is None or stroke_probabilities is None:
            return self.picture.score(rows) > self.picture.threshold
        return self.strokes.score(with_strokes(rows, trajectories, stroke_probabilities)) > self.strokes.threshold

    def save(self, path: Path) -> None:
        """As .npz of float32 arrays (no pickles), with fixed zip entry times: the same weights, the same bytes,
        so the checksum in models/card.json names the weights."""
        arrays = {f"space_{f.name}": getattr(self.space, f.name) for f in fields(DigitSpace)}
        for part in ("picture", "strokes"):
            if (scorer := getattr(self, part)) is not None:
                arrays |= {f"{part}_{f.name}": np.asarray(getattr(scorer, f.name)) for f in fields(Scorer)}
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, value in sorted(arrays.items()):
                buffer = io.BytesIO()
                np.save(buffer, np.asarray(value, np.float32))
                archive.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_TIME), buffer.getvalue(),
                                 compress_type=zipfile.ZIP_DEFLATED)

    @classmethod
    def load(cls, path: Path) -> NotADigit:
        with np.load(path, allow_pickle=False) as arrays:
            space = DigitSpace(**{f.name: arrays[f"space_{f.name}"] for f in fields(DigitSpace)})
            scorers = {part: Scorer(**{f.name: float(v) if (v := arrays[f"{part}_{f.name}"]).ndim == 0 else v
                                       for f in fields(Scorer)})
                       for part in ("picture", "strokes") if f"{part}_mean" in arrays.files}
        return cls(space, **scorers)
