"""Drawings that are not digits, for teaching and for measuring the not-a-digit detector (app.reading.rejection).

Nobody has collected crosses, question marks and scribbles drawn on this page, so they are made: the
glyphs of the Hershey stroke fonts (PyPI `Hershey-Fonts`, a training-only dependency: 32 fonts of pen
strokes, Latin, Greek, Cyrillic, Japanese, astrological, musical, mathematical), upright and turned, plus
scribbles, zigzags, spirals, dots, arrows, outlines, straight lines, pen digits turned or mirrored, and two
pen digits side by side or drawn over each other. Every shape goes through
`handmade` (a hand's wobble and slant) and then `pendigits.random_canvas`, the very recipe the shipped
nets' pen digits were drawn with, so that only the shape tells a non-digit from a digit.

The symbols the detector is *measured* on, `HELD_OUT_SYMBOLS`, are never trained on, nor is anything that
looks like them: a glyph of any font whose rendering is within `NEAR` (cosine similarity of the blurred
28×28) of any font's rendering of a held-out symbol is left out of training ("×" and "十" are an "x" and a
"+"), as is any turned glyph that comes out so (a "v" upside down is a "^"), and so are straight lines near
a "−" or a "/" (`LINE_ANGLES`). Glyphs that look like a digit ("O", "l", "S", "Z")
are left out too: they cannot be told from one and teaching them as non-digits only costs digits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from PIL import Image
from scipy import ndimage

from app.offline import pendigits
from app.offline.pendigits import PenDigit, Stroke
from app.reading.imaging import ink_map, normalise

HELD_OUT_SYMBOLS = "+-/?^ex=*#"
# the fonts a person's hand is most like: held-out symbols are drawn from these (and by hand, HAND_DRAWN)
LATIN_FONTS = ("futural", "futuram", "rowmans", "rowmand", "rowmant", "scripts", "scriptc", "cursive", "timesr",
               "timesi", "timesrb", "timesib")
NEAR = 0.85  # a training glyph this correlated with a held-out symbol or a digit is left out ("X", "|", "Z")
# letters a hand draws as a digit (0, 1, 2, 5, 6, 8, 9), left out of training whatever the font draws for them
DIGIT_LIKE = "OoDQIilJj|!SsZzBbGgq"
BLUR = 1.0  # px of the 28×28: similarity of shapes, not of pixels
# angles (degrees from horizontal, anticlockwise) of the straight lines trained on: none within 25° of horizontal
# (a "−" drawn with a tilt), none from 45° to 105° ("/" and a slanted or upright 1), none past 155°
LINE_ANGLES = ((25.0, 45.0), (110.0, 155.0))
LINE_STEP = 0.02  # strokes are resampled at this spacing (of the shape's longer side) before the wobble

# Held-out symbols as a person draws them, stroke by stroke, in a unit box (y grows downwards): the test set
# has these as well as the fonts' glyphs, which are typographic (serifs, a slanted "#").
HAND_DRAWN: dict[str, list[list[tuple[float, float]]]] = {
    "+": [[(0.5, 0.0), (0.5, 1.0)], [(0.0, 0.5), (1.0, 0.5)]],
    "-": [[(0.0, 0.5), (1.0, 0.5)]],
    "/": [[(0.75, 0.0), (0.25, 1.0)]],
    "?": [[(0.15, 0.3), (0.25, 0.1), (0.5, 0.0), (0.75, 0.1), (0.8, 0.3), (0.65, 0.45), (0.5, 0.55), (0.5, 0.75)],
          [(0.5, 0.95), (0.5, 0.97)]],
    "^": [[(0.0, 1.0), (0.5, 0.0), (1.0, 1.0)]],
    "e": [[(0.1, 0.55), (0.9, 0.55), (0.85, 0.3), (0.6, 0.1), (0.35, 0.12), (0.12, 0.35), (0.1, 0.65), (0.25, 0.9),
           (0.55, 1.0), (0.85, 0.9)]],
    "x": [[(0.0, 0.0), (1.0, 1.0)], [(1.0, 0.0), (0.0, 1.0)]],
    "=": [[(0.0, 0.3), (1.0, 0.3)], [(0.0, 0.7), (1.0, 0.7)]],
    "*": [[(0.5, 0.0), (0.5, 1.0)], [(0.07, 0.25), (0.93, 0.75)], [(0.93, 0.25), (0.07, 0.75)]],
    "#": [[(0.35, 0.0), (0.3, 1.0)], [(0.7, 0.0), (0.65, 1.0)], [(0.0, 0.33), (1.0, 0.33)],
          [(0.0, 0.67), (1.0, 0.67)]],
}
DIGITS = "0123456789"


@dataclass(frozen=True)
class Shape:
    """One non-digit (or, for `DIGITS`, digit) before jitter: where it came from and its strokes."""

    source: str  # "glyph:<font>:<char>", "scribble", "two_digits", …
    strokes: list[Stroke]


def _fonts() -> tuple[str, ...]:
    from HersheyFonts import HersheyFonts

    return tuple(HersheyFonts().default_font_names)


@cache
def _font(name: str) -> Any:
    from HersheyFonts import HersheyFonts

    font = HersheyFonts()
    font.load_default_font(name)
    return font


@cache
def glyph(font: str, char: str) -> list[Stroke]:
    """One character of a Hershey font as pen strokes (y grows downwards, as on the canvas)."""
    return [[(float(x), float(y)) for x, y in stroke] for stroke in _font(font).strokes_for_text(char) if stroke]


def clean_image(strokes: Sequence[Stroke]) -> np.ndarray:
    """A shape drawn plainly (centred, 70 % of the canvas, the page's brush) and normalised like a request."""
    canvas = 140
    return normalise(ink_map(pendigits.render(pendigits.place(strokes, 0.7, (0.5, 0.5), canvas, True), canvas)))


def _signature(image: np.ndarray) -> np.ndarray:
    """The blurred image, centred and scaled to unit length: dot products of two are correlations."""
    blurred = ndimage.gaussian_filter(image, BLUR).ravel()
    blurred = blurred - blurred.mean()
    return blurred / max(float(np.linalg.norm(blurred)), 1e-9)


def _signatures(shapes: Sequence[Sequence[Stroke]]) -> np.ndarray:
    return np.stack([_signature(clean_image(s)) for s in shapes])


def held_out_shapes() -> list[Shape]:
    """Every held-out symbol of every Latin font, and as drawn by hand: what rejection is measured on."""
    shapes = [Shape(f"glyph:{font}:{char}", glyph(font, char)) for char in HELD_OUT_SYMBOLS for font in LATIN_FONTS]
    shapes += [Shape(f"hand:{char}", [[(x * 500, y * 500) for x, y in s] for s in HAND_DRAWN[char]])
               for char in HELD_OUT_SYMBOLS]
    return [s for s in shapes if s.strokes]


def symbol_of(shape: Shape) -> str:
    """The character a glyph or hand-drawn shape stands for ("" for generated shapes)."""
    kind, _, rest = shape.source.partition(":")
    return rest.rpartition(":")[2] if kind in ("glyph", "hand") else ""


def digit_glyphs() -> list[Shape]:
    """Every font's digits: digits in odd hands, which must stay digits."""
    return [Shape(f"glyph:{font}:{char}", strokes) for font in _fonts() for char in DIGITS
            if (strokes := glyph(font, char))]


class Lookalikes:
    """Every font's held-out symbols and digits as signatures: a shape correlating ≥ NEAR with any of them looks
    too much like one to be trained on as a non-digit.

    Similarity is to every font's rendering of a held-out symbol (fonts with symbols, not only Latin ones),
    so that a "+" of the mathematical font cannot slip in as a training shape.
    """

    def __init__(self) -> None:
        fonts = _fonts()
        self.held_out = _signatures([glyph(font, char) for font in fonts for char in HELD_OUT_SYMBOLS
                                     if glyph(font, char)])
        self.digits = _signatures([shape.strokes for shape in digit_glyphs()])

    def near(self, strokes: Sequence[Stroke]) -> bool:
        signature = _signature(clean_image(strokes))
        return bool((self.held_out @ signature).max() >= NEAR or (self.digits @ signature).max() >= NEAR)


def training_glyphs(lookalikes: Lookalikes) -> tuple[list[Shape], list[str]]:
    """Every glyph of every font that is neither near a held-out symbol nor near a digit, and what was left out."""
    kept, left_out = [], []
    for font in _fonts():
        for code in range(33, 127):
            char = chr(code)
            strokes = glyph(font, char)
            if not strokes or char in DIGITS or char in HELD_OUT_SYMBOLS or char in DIGIT_LIKE:
                continue
            if lookalikes.near(strokes):
                left_out.append(f"{font}:{char}")
                continue
            kept.append(Shape(f"glyph:{font}:{char}", strokes))
    return kept, left_out


def turned_glyph(glyphs: Sequence[Shape], lookalikes: Lookalikes, rng: np.random.Generator) -> Shape:
    """A training glyph turned by 30°–330° about its centre (letters on their side are no digits either), drawn
    again until the turned shape is near no held-out symbol nor digit (a "v" turned over is a "^")."""
    while True:
        shape = glyphs[rng.integers(len(glyphs))]
        angle = rng.uniform(np.pi / 6, 2 * np.pi - np.pi / 6)
        points = np.array([p for stroke in shape.strokes for p in stroke])
        centre = points.mean(axis=0)
        turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        strokes = [[(float(x), float(y)) for x, y in (np.array(stroke) - centre) @ turn.T] for stroke in shape.strokes]
        if not lookalikes.near(strokes):
            return Shape(f"turned_{shape.source}", strokes)


def handmade(strokes: Sequence[Stroke], rng: np.random.Generator, wobble: float = 0.02) -> list[Stroke]:
    """A shape as a hand draws it: slanted, rotated, stretched a little, each stroke wavering.

    Rotation ±12°, shear ±0.2, aspect ×0.8–1.25, and a smooth wobble of about `wobble` of the shape's size
    along each stroke; in a 500-unit box (as pendigits), y downwards.
    """
    points = np.array([p for stroke in strokes for p in stroke], dtype=np.float64)
    low, side = points.min(axis=0), max(float(np.ptp(points, axis=0).max()), 1e-6)
    angle, shear, aspect = rng.uniform(-0.21, 0.21), rng.uniform(-0.2, 0.2), np.exp(rng.uniform(-0.22, 0.22))
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    transform = turn @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag([aspect, 1 / aspect])
    out = []
    for stroke in strokes:
        path = (np.array(stroke, dtype=np.float64) - low) / side
        path = _resample(path)
        t = np.linspace(0.0, 1.0, len(path))[:, np.newaxis]
        waves = rng.uniform(1.0, 3.0, (1, 2))
        path = path + wobble * rng.uniform(0.3, 1.5) * np.sin(2 * np.pi * waves * t + rng.uniform(0, 2 * np.pi, (1, 2)))
        out.append([(float(x) * 500, float(y) * 500) for x, y in path @ transform.T])
    return out


def _resample(path: np.ndarray) -> np.ndarray:
    """Points every LINE_STEP along a polyline (a dot stays a dot)."""
    lengths = np.linalg.norm(np.diff(path, axis=0), axis=1)
    total = float(lengths.sum())
    if total < LINE_STEP:
        return path
    along = np.concatenate([[0.0], np.cumsum(lengths)])
    at = np.linspace(0.0, total, max(2, int(total / LINE_STEP) + 1))
    return np.stack([np.interp(at, along, path[:, 0]), np.interp(at, along, path[:, 1])], axis=1)


# ---- generated shapes ------------------------------------------------------------------------------

def scribble(rng: np.random.Generator) -> list[Stroke]:
    """A pen wandering with momentum: one to three strokes of many turns."""
    strokes = []
    for _ in range(rng.integers(1, 4)):
        heading, position, path = rng.uniform(0, 2 * np.pi), rng.uniform(0, 1, 2), []
        for _ in range(rng.integers(40, 120)):
            heading += rng.normal(0, 0.5)
            position = position + 0.03 * np.array([np.cos(heading), np.sin(heading)])
            path.append((float(position[0]), float(position[1])))
        strokes.append(path)
    return strokes


def zigzag(rng: np.random.Generator) -> list[Stroke]:
    """Four to nine sharp turns back and forth (a saw, a spring seen from the side, a signature's flourish)."""
    turns = rng.integers(4, 10)
    x = np.linspace(0.0, 1.0, turns + 1)
    y = np.where(np.arange(turns + 1) % 2 == 0, 0.0, rng.uniform(0.3, 1.0)) + rng.normal(0, 0.05, turns + 1)
    return [list(zip(x.tolist(), y.tolist(), strict=True))]


def spiral(rng: np.random.Generator) -> list[Stroke]:
    """Two to four turns winding in or out."""
    turns = rng.uniform(2.0, 4.0)
    t = np.linspace(0.0, turns * 2 * np.pi, int(turns * 40))
    radius = 0.1 + t / t[-1]
    sign = rng.choice([-1.0, 1.0])
    return [list(zip((radius * np.cos(sign * t)).tolist(), (radius * np.sin(t)).tolist(), strict=True))]


def dots(rng: np.random.Generator) -> list[Stroke]:
    """Two to six taps or tiny strokes scattered about."""
    return [[(float(x), float(y)), (float(x) + rng.uniform(0, 0.04), float(y) + rng.uniform(0, 0.04))]
            for x, y in rng.uniform(0, 1, (rng.integers(2, 7), 2))]


def arrow(rng: np.random.Generator) -> list[Stroke]:
    """A shaft with a head at any angle, drawn in one or two strokes."""
    angle = rng.uniform(0, 2 * np.pi)
    tip = np.array([np.cos(angle), np.sin(angle)])
    wing = 0.35 * rng.uniform(0.7, 1.3)
    spread = rng.uniform(0.35, 0.7)
    left = tip - wing * np.array([np.cos(angle - spread), np.sin(angle - spread)])
    right = tip - wing * np.array([np.cos(angle + spread), np.sin(angle + spread)])
    shaft = [(float(-tip[0]), float(-tip[1])), (float(tip[0]), float(tip[1]))]
    head = [tuple(map(float, left)), (float(tip[0]), float(tip[1])), tuple(map(float, right))]
    return [shaft + head[2:], head[:2]] if rng.random() < 0.5 else [shaft, head]


def box(rng: np.random.Generator) -> list[Stroke]:
    """A triangle, square or star outline, closed or nearly."""
    corners = int(rng.choice([3, 4, 5, 6]))
    step = 2 if corners == 5 and rng.random() < 0.5 else 1  # a five-pointed star, drawn in one line
    t = rng.uniform(0, 2 * np.pi) + 2 * np.pi * step * np.arange(corners + 1) / corners
    return [list(zip(np.cos(t).tolist(), np.sin(t).tolist(), strict=True))]


def two_digits(digits: Sequence[PenDigit], rng: np.random.Generator) -> list[Stroke]:
    """Two pen digits side by side (a number in the one-digit pad) or drawn over each other (a scratched-out
    digit): neither is one digit."""
    first, second = (digits[i] for i in rng.choice(len(digits), 2))
    overlap = rng.random() < 0.4
    shift = rng.uniform(-80, 80) if overlap else rng.uniform(300, 420)
    return [*first.strokes, *([(x + shift, y + rng.uniform(-30, 30)) for x, y in s] for s in second.strokes)]


def line(rng: np.random.Generator) -> list[Stroke]:
    """A straight stroke at an angle of LINE_ANGLES: never near-horizontal (a "−"), in "/"'s or a 1's slant."""
    low, high = LINE_ANGLES[rng.integers(len(LINE_ANGLES))]
    angle = np.deg2rad(rng.uniform(low, high))
    return [[(0.0, 0.0), (float(np.cos(angle)), float(-np.sin(angle)))]]


GENERATORS: dict[str, Callable[[np.random.Generator], list[Stroke]]] = {
    "scribble": scribble, "zigzag": zigzag, "spiral": spiral, "dots": dots, "arrow": arrow, "box": box, "line": line}
# digits turned a quarter or half way, or mirrored, are no digit (quarter turns of a 1 would be a
# "−", half turns of 6 and 9 each other, and 0 and 8 stay themselves: those are not used)
TURNED = {2: (90, 180, 270, "mirror"), 3: (90, 180, 270, "mirror"), 4: (90, 180, 270, "mirror"),
          5: (90, 180, 270, "mirror"), 7: (90, 180, 270, "mirror")}


def turned_digit(digits: Sequence[PenDigit], rng: np.random.Generator) -> list[Stroke]:
    """A pen digit of TURNED turned a quarter, half or three quarters, or mirrored: close to digits, yet none."""
    candidates = [d for d in digits if d.label in TURNED]
    digit = candidates[rng.integers(len(candidates))]
    how = TURNED[digit.label][rng.integers(len(TURNED[digit.label]))]
    points = np.array([p for stroke in digit.strokes for p in stroke])
    centre = points.mean(axis=0)
    if how == "mirror":
        return [[(2 * centre[0] - x, y) for x, y in stroke] for stroke in digit.strokes]
    angle = np.deg2rad(how)
    cos, sin = np.cos(angle), np.sin(angle)
    return [[(centre[0] + cos * (x - centre[0]) - sin * (y - centre[1]),
              centre[1] + sin * (x - centre[0]) + cos * (y - centre[1])) for x, y in stroke]
            for stroke in digit.strokes]


def training_shapes(glyphs: Sequence[Shape], lookalikes: Lookalikes, digits: Sequence[PenDigit], count: int,
                    rng: np.random.Generator) -> Iterator[Shape]:
    """`count` non-digits: 45 % font glyphs, 25 % turned font glyphs, 15 % generated shapes, 7.5 % two pen digits
    and 7.5 % turned pen digits (of `digits`)."""
    for _ in range(count):
        pick = rng.random()
        if pick < 0.45:
            yield glyphs[rng.integers(len(glyphs))]
        elif pick < 0.7:
            yield turned_glyph(glyphs, lookalikes, rng)
        elif pick < 0.85 or not digits:
            name = list(GENERATORS)[rng.integers(len(GENERATORS))]
            yield Shape(name, GENERATORS[name](rng))
        elif pick < 0.925:
            yield Shape("two_digits", two_digits(digits, rng))
        else:
            yield Shape("turned_digit", turned_digit(digits, rng))


def drawings(shapes: Sequence[Shape], rng: np.random.Generator) -> tuple[np.ndarray, list[list[Stroke]]]:
    """Each shape made by hand and drawn on a random canvas, normalised as a request is (N×28×28), with the
    strokes the hand drew (where on the canvas does not change their trajectory)."""
    images, hands = [], []
    for shape in shapes:
        hands.append(handmade(shape.strokes, rng))
        images.append(normalise(ink_map(pendigits.random_canvas(hands[-1], rng, longest=True))))
    return np.stack(images), hands


def held_out_canvases(copies: int, seed: int) -> Iterator[tuple[str, Image.Image, list[Stroke]]]:
    """Each held-out shape (`held_out_shapes`) made by hand `copies` times and drawn on a random canvas, as
    the page would post it, with its symbol and its strokes in canvas pixels: the test set of rejection."""
    rng = np.random.default_rng(seed)
    for shape in held_out_shapes():
        for _ in range(copies):
            placed, brush = pendigits.random_placement(handmade(shape.strokes, rng), rng, longest=True)
            yield symbol_of(shape), pendigits.render(placed, pendigits.CANVAS, brush), placed
