"""UCI pendigits (UNIPEN text): real pen trajectories, replayed as canvas drawings.

MNIST accuracy says little about digits drawn on a canvas; these 7,494 digits from 30 writers are
the closest public stand-in, and rendering them with the page's own brush makes them look exactly
like what the browser sends.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from app.reading.imaging import png_bytes, png_data_url

BOX = 500  # the tablet box each digit was written in; y grows upwards
CANVAS = 280  # CSS size of the page's canvas
BEND = 0.06  # how far `bend` moves a digit's points, as a share of its size
BRUSH_FRACTION = 1 / 16  # the page's brush width relative to the canvas side (static/js/draw.js)
DEFAULT_FILE = Path(__file__).resolve().parents[2].parent / "shared" / "pendigits" / "pendigits-orig.tra"

Stroke = list[tuple[float, float]]
# Writers 1–24 teach the shipped nets what pen drawings look like. Writers 25–30 are never used for training or
# tuning: they are the last fold of the writer-grouped cross-validation (app.offline.crossval), whose nets are
# the shipped ones, so that every test and benchmark of drawn digits can measure on writers the nets never saw.
TRAIN_WRITERS = frozenset(range(1, 25))
HELD_OUT_WRITERS = frozenset(range(25, 31))


@dataclass(frozen=True)
class PenDigit:
    label: int
    writer: int
    strokes: list[Stroke]  # canvas-style coordinates in the 500×500 box (y grows downwards)


_SEGMENT = re.compile(r'^\.SEGMENT DIGIT\s+\S+\s+\S+\s+"(\d)"')


def parse(path: Path = DEFAULT_FILE) -> list[PenDigit]:
    """Read every digit with its writer and strokes, y flipped to canvas orientation."""
    digits: list[PenDigit] = []
    label = writer = -1
    strokes: list[Stroke] = []
    current: Stroke | None = None

    def flush() -> None:
        if label >= 0 and strokes:
            digits.append(PenDigit(label, writer, strokes))

    for line in path.read_text(encoding="latin-1").splitlines():
        if match := _SEGMENT.match(line):
            flush()
            label, writer, strokes = int(match.group(1)), -1, []
        elif line.startswith(".COMMENT") and label >= 0 and writer < 0:
            writer = int(line.split()[2])
        elif line.startswith(".PEN_DOWN"):
            current = []
        elif line.startswith(".PEN_UP"):
            if current:
                strokes.append(current)
            current = None
        elif current is not None and line.strip():
            x, y = line.split()
            current.append((float(x), BOX - float(y)))
    flush()
    return digits


def held_out(digits: Sequence[PenDigit]) -> list[PenDigit]:
    """Only whole writers never seen in training, so no writer's style leaks into a measurement."""
    return [d for d in digits if d.writer in HELD_OUT_WRITERS]


def fit_to_canvas(strokes: Sequence[Stroke], canvas: int = CANVAS) -> list[Stroke]:
    """Map the 500×500 writing box onto the canvas, keeping where and how big the writer wrote."""
    scale = canvas / BOX
    return [[(x * scale, y * scale) for x, y in stroke] for stroke in strokes]


def render(strokes: Sequence[Stroke], canvas: int = CANVAS, brush: float | None = None,
           width: int | None = None) -> Image.Image:
    """Draw strokes like the page does: round caps and joins, black on transparent, anti-aliased.

    `canvas` is the height (and, unless `width` is given, the width): the brush is a fraction of it.
    """
    brush = canvas * BRUSH_FRACTION if brush is None else brush
    size = (canvas if width is None else width, canvas)
    supersample = 4
    big = Image.new("L", (size[0] * supersample, size[1] * supersample), 0)
    pen = ImageDraw.Draw(big)
    radius = brush * supersample / 2
    for stroke in strokes:
        points = [(x * supersample, y * supersample) for x, y in stroke]
        if len(points) > 1:
            pen.line(points, fill=255, width=max(1, round(2 * radius)), joint="curve")
        for x, y in points:
            pen.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    alpha = big.resize(size, Image.Resampling.BOX)
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    image.putalpha(alpha)
    return image


def data_url(image: Image.Image) -> str:
    """A rendered drawing as the page posts it: a PNG data URL."""
    return png_data_url(png_bytes(image))


def page_strokes(strokes: Sequence[Stroke], canvas: int = CANVAS) -> list[list[list[float]]]:
    """The strokes of a 500-box digit as the page posts them with the drawing: see `page_fractions`."""
    return page_fractions(fit_to_canvas(strokes, canvas), canvas)


def page_fractions(placed: Sequence[Stroke], canvas: int = CANVAS) -> list[list[list[float]]]:
    """Strokes in canvas pixels as the page posts them (`strokes` of /api/predict and /api/correct): fractions
    of the canvas side, rounded as the page rounds them, with a time 16 ms apart (a frame)."""
    return [[[round(x / canvas, 4), round(y / canvas, 4), 16 * i] for i, (x, y) in enumerate(stroke)]
            for stroke in placed]


def canvas_drawings(digits: Sequence[PenDigit], canvas: int = CANVAS) -> Iterator[tuple[PenDigit, Image.Image]]:
    for digit in digits:
        yield digit, render(fit_to_canvas(digit.strokes, canvas), canvas)


def as_arrays(digits: Sequence[PenDigit], canvas: int = CANVAS) -> tuple[np.ndarray, np.ndarray]:
    """Rendered and MNIST-normalised, ready for the nets."""
    from app.reading.imaging import ink_map, normalise

    images = np.stack([normalise(ink_map(image)) for _, image in canvas_drawings(digits, canvas)])
    return images, np.array([d.label for d in digits], dtype=np.int64)


def trajectories(digits: Sequence[PenDigit]) -> np.ndarray:
    """The strokes net's input for each digit as written (app.reading.trajectory), stacked."""
    from app.reading.trajectory import features

    return np.stack([features(d.strokes) for d in digits])


def place(strokes: Sequence[Stroke], height: float, centre: tuple[float, float], canvas: int,
          longest: bool = False) -> list[Stroke]:
    """Strokes scaled to `height` × canvas and centred at `centre` (fractions of the canvas); with `longest`,
    their longer side is scaled to it instead (a "−" has almost no height)."""
    points = np.array([p for stroke in strokes for p in stroke])
    low, high = points.min(axis=0), points.max(axis=0)
    scale = height * canvas / max(float(np.max(high - low)) if longest else high[1] - low[1], 1.0)
    middle = (low + high) / 2
    return [[((x - middle[0]) * scale + centre[0] * canvas, (y - middle[1]) * scale + centre[1] * canvas)
             for x, y in stroke] for stroke in strokes]


def training_arrays(digits: Sequence[PenDigit], seed: int, copies: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Each digit drawn `copies` times at random sizes, places and brush widths, then normalised.

    People draw big or small with whatever brush the device gives; training on that spread is what
    makes the nets read drawings of any size rather than only the pendigits box.
    """
    from app.reading.imaging import ink_map, normalise

    rng = np.random.default_rng(seed)
    images, labels = [], []
    for digit in digits:
        for _ in range(copies):
            images.append(normalise(ink_map(random_canvas(digit.strokes, rng))))
            labels.append(digit.label)
    return np.stack(images), np.array(labels, dtype=np.int64)


def bend(strokes: Sequence[Stroke], rng: np.random.Generator, strength: float = BEND) -> list[Stroke]:
    """The writing on a smoothly warped sheet: every point moved by the same random field of two long waves per
    axis (wavelengths of 0.7–2 × the digit's size, about `strength` × its size in all), as one writer's shape
    differs from another's. A warp of the plane, not of each stroke, so strokes that meet still meet. The strokes
    net learns from bent digits (app.offline.stroke_training); slants, turns and stretches come after it."""
    points = np.array([p for stroke in strokes for p in stroke], dtype=np.float64)
    low, side = points.min(axis=0), max(float(np.ptp(points, axis=0).max()), 1e-6)
    waves = rng.normal(size=(2, 2, 2))  # axis × wave × direction
    waves *= rng.uniform(0.5, 1.4, (2, 2, 1)) / np.linalg.norm(waves, axis=2, keepdims=True)
    phases, sizes = rng.uniform(0, 2 * np.pi, (2, 2)), rng.normal(size=(2, 2)) * strength * side / np.sqrt(2)

    def moved(stroke: Stroke) -> Stroke:
        at = (np.array(stroke, dtype=np.float64) - low) / side
        shift = np.einsum("aw,naw->na", sizes, np.sin(2 * np.pi * np.einsum("awd,nd->naw", waves, at) + phases))
        return [(float(x), float(y)) for x, y in np.array(stroke, dtype=np.float64) + shift]

    return [moved(stroke) for stroke in strokes]


def random_placement(strokes: Sequence[Stroke], rng: np.random.Generator, canvas: int = CANVAS,
                     longest: bool = False) -> tuple[list[Stroke], float]:
    """Where `random_canvas` draws the strokes, in canvas pixels, and with what brush width."""
    size = rng.uniform(0.3, 0.9)
    inside = (size / 2 + 0.05, 0.95 - size / 2)
    centre = (rng.uniform(*inside) if longest else rng.uniform(0.35, 0.65), rng.uniform(*inside))
    brush = canvas * rng.uniform(1 / 28, 1 / 11)
    return place(strokes, size, centre, canvas, longest), brush


def random_canvas(strokes: Sequence[Stroke], rng: np.random.Generator, canvas: int = CANVAS,
                  longest: bool = False) -> Image.Image:
    """Any strokes drawn as a person might on the page: 30–90 % of the canvas tall, anywhere on it, with a brush
    of 1/28–1/11 of its side. The one recipe for training drawings, digits or not, so that nothing but the shape
    tells them apart. Digits are sized by their height, as the shipped nets were trained; with `longest` the
    longer side is sized, and the drawing kept inside the canvas both ways (for shapes wider than tall)."""
    placed, brush = random_placement(strokes, rng, canvas, longest)
    return render(placed, canvas, brush)


def compose_number(digits: Sequence[PenDigit], rng: np.random.Generator, gaps: tuple[float, float],
                   canvas: int = CANVAS, width: int = 3 * CANVAS) -> list[list[Stroke]]:
    """Digits written left to right on a `width` × `canvas` drawing: each 45–65 % of the height tall, with gaps
    of `gaps` (fractions of the digit height; negative: the boxes overlap) and the baseline jittered by ±5 %;
    the strokes of each digit, in pixels. A number too long for the width is shrunk as a whole to fit it.
    """
    heights = rng.uniform(0.45, 0.65, len(digits))
    spacing = rng.uniform(*gaps, len(digits) - 1) * heights[1:]
    shapes = [place(d.strokes, h, (0.0, 0.0), canvas) for d, h in zip(digits, heights, strict=True)]
    widths = np.array([np.ptp([x for stroke in s for x, _ in stroke]) for s in shapes]) / canvas
    fit = min(1.0, 0.9 * width / canvas / (widths.sum() + spacing.sum()))
    heights, widths, spacing = heights * fit, widths * fit, spacing * fit
    left = (width / canvas - widths.sum() - spacing.sum()) / 2
    number = []
    for i, digit in enumerate(digits):
        bottom = 0.82 + rng.uniform(-0.05, 0.05)
        centre = (left + widths[i] / 2, bottom - heights[i] / 2)
        number.append(place(digit.strokes, heights[i], centre, canvas))
        left += widths[i] + (spacing[i] if i < len(spacing) else 0.0)
    return number
