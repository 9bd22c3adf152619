"""Read a number: several digits in one drawing, segmented by recognition.

Cutting a drawing into digits first and reading them afterwards fails exactly where it matters: a 4
drawn in two strokes, a 5 whose bar was lifted or a 7 with a bar are several pieces of ink, and two
digits written close together are one. So, as in LeCun, Bottou, Bengio & Haffner (1998), the drawing
is over-cut into *parts*, every run of neighbouring parts is read as a candidate digit, and the
segmentation is chosen as a whole: the left-to-right path of candidates whose readings are jointly the
most likely, found by dynamic programming.

- Parts from the image alone: connected components of the ink; a component that may be too wide to be
  one digit is cut at the minima of its vertical ink profile (where touching digits usually meet), but
  a digit starting at such a cut earns no `Prior.bonus`, so a wide digit is not read as its halves.
  Parts are ordered by their centre, left to right.
- Parts with strokes: each stroke is one part (every ink pixel goes to the nearest stroke), in the
  order the strokes were drawn, since a digit's strokes are drawn one after another.
- A candidate is scored by log P(its best digit) under the nets that answer single digits, plus a
  shape prior: a candidate much wider than the line is tall is likely two digits, one much shorter is
  likely a piece of one. Each candidate is cropped and normalised exactly like a single digit
  (`imaging.normalise`), so what the online pair and a person's own layer learned serves numbers too,
  and all candidates of one drawing are read in one batch.

A number is recognised only if every digit is; its confidence is the product of the digits'
confidences (the chance that all are right, if their errors are independent), so a long number is
trusted less than any of its digits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from app.reading.ensemble import FLOOR, Answers, Ensemble, PersonalReader, top3
from app.reading.imaging import INK_THRESHOLD, DrawingError, ink_map, normalise
from app.reading.trajectory import features as trajectory

MAX_PARTS = 6  # parts one digit may be made of (strokes of a fussy 4, slices of a cut blob)
FRINGE = 2  # pixels of anti-aliased edge around the ink (pendigits.render: 4× supersampled)
MAX_WIDTH = 1.4  # candidate width / line height beyond which it cannot be one digit
CUT_WIDTH = 0.75  # a component wider than this (× line height) is cut at its ink-profile minima
STROKE_CUT_WIDTH = 1.2  # a single stroke wider than this is taken to be two digits drawn without lifting
CUT_END = 0.05  # no cut closer than this (× line height) to a part's end: a 1 may be one brush wide
CUT_APART = 0.15  # nor closer than this to another cut
STROKE_MARGIN = 0.1  # how far past the drawing's edges strokes may go (× its size): the pen is still captured there
CUT_MARGIN = 0.15  # empty border around a digit cut out of a number (× its longer side), as a drawn digit has

Point = Sequence[float]


@dataclass(frozen=True)
class Prior:
    """What a candidate's shape says beyond its reading, in nats. The nets read a blob of two digits, or a piece
    of one, confidently too: a candidate much wider than tall (`wide` × its height), with empty columns inside
    (parts of one digit overlap, digits side by side do not) or much shorter than the line (`short` × the ink
    height) pays `weight` per unit over; each digit earns `bonus`, which tips parts that two digits read as
    well as one towards two, unless the digit starts where a part was cut (`Candidates.scores`): then it pays
    `cut` instead. Tuned on numbers composed from pendigits writers 1–10 only, all of them training writers
    (bench/read.py --writers train); `cut` checked on cross-validation folds 1 and 3 (bench/read.py --fold)."""

    bonus: float
    weight: float
    wide: float
    short: float
    gap: float
    cut: float

    def cost(self, width: int, height: int, gap: int, line: float) -> float:
        """
        >>> prior = Prior(bonus=0.0, weight=2.0, wide=1.2, short=0.6, gap=1.0, cut=0.0)
        >>> prior.cost(80, 100, 0, 100.0), prior.cost(150, 100, 0, 100.0), prior.cost(10, 40, 0, 100.0)
        (0.0, 0.6, 0.4)
        >>> prior.cost(80, 100, 5, 100.0)
        1.0
        """
        over = max(0.0, width / height - self.wide) + max(0.0, self.short - height / line)
        return round(self.weight * over + (self.gap if gap else 0.0), 6)


# Strokes cut a digit into more, smaller pieces (a 4's bar, a 5's flag) than ink components do: their prior
# asks more height of a digit. Ink components are cut only by `split_wide`, and a digit starting at a cut earns
# no bonus (`Candidates.scores`): theirs can give more to each digit. Touching digits are one component that
# must be cut, but they are two strokes: a stroke is cut only where someone wrote two digits without lifting the
# pen, rarer than a wide digit in one stroke, so a digit starting inside a stroke pays `cut`.
IMAGE_PRIOR = Prior(bonus=0.3, weight=2.0, wide=1.4, short=0.6, gap=1.0, cut=0.0)
# A writer who leaves gaps between digits rarely lets two of them touch, so there a cut part is more likely one
# wide digit (a 2 with a long foot, a slanted 0 whose stroke runs on inside it) than two: cutting it pays, as a
# stroke's cut does. Chosen on cross-validation folds 1–4, 150 numbers a fold and layout composed as
# `bench/read.py --fold K` does, each fold read with nets that never saw its writers: spaced 94.5 → 95.7 % exact,
# tight unchanged at 53.5 % (gates at 0.04 and 0.08 gave the same); the same cost on every drawing lost tight
# 53.5 → 24.8 %.
SPACED_IMAGE_PRIOR = Prior(bonus=0.3, weight=2.0, wide=1.4, short=0.6, gap=1.0, cut=0.5)
SPACED = 0.06  # median gap between neighbouring ink components, × the line height, from which a number is spaced
STROKES_PRIOR = Prior(bonus=0.25, weight=2.0, wide=1.4, short=0.8, gap=1.0, cut=0.5)


@dataclass(frozen=True)
class ReadDigit:
    """One digit of a number: where it is (x0, y0, x1, y1 in image pixels, x1 and y1 exclusive), what it reads
    as (None: not recognised), the 28×28 it was read from, and its own ink in the box (a neighbour's ink that
    reaches into the box is not in it): what `normalise` made the 28×28 of, so the digit can be kept alone."""

    box: tuple[int, int, int, int]
    answer: int | None
    confidence: float
    top3: list[list[float]]
    image: np.ndarray
    ink: np.ndarray


@dataclass(frozen=True)
class Number:
    digits: list[ReadDigit]

    @property
    def recognized(self) -> bool:
        return all(d.answer is not None for d in self.digits)

    @property
    def text(self) -> str | None:
        """The digits as a string ("2026"), or None unless every digit was recognised."""
        return "".join(str(d.answer) for d in self.digits) if self.recognized else None

    @property
    def confidence(self) -> float:
        return float(np.prod([d.confidence for d in self.digits]))


def stroke_parts(mask: np.ndarray, strokes: Sequence[Sequence[Point]], size: tuple[int, int] | None = None,
                 origin: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Label each ink pixel with its nearest stroke (1-based, in drawing order; 0 = no ink).

    Strokes are fractions of the image: x of its width, y of its height (the page's canvas is square,
    so both are fractions of its side). They are drawn one pixel wide and every ink pixel goes to the
    closest one, so where strokes of two digits touch the ink is still told apart. `mask` may be a window
    of the image: `size` is the whole image's (width, height), `origin` the window's top-left pixel.

    >>> mask = np.zeros((4, 8), bool); mask[1:3, 1:3] = mask[1:3, 5:7] = True
    >>> stroke_parts(mask, [[[0.2, 0.5]], [[0.75, 0.5]]])[1]
    array([0, 1, 1, 0, 0, 2, 2, 0], dtype=int32)
    """
    width, height = size or mask.shape[::-1]
    canvas = Image.new("I", mask.shape[::-1], 0)
    pen = ImageDraw.Draw(canvas)
    for k, stroke in enumerate(strokes, start=1):
        points = [(p[0] * width - origin[0], p[1] * height - origin[1]) for p in stroke]
        if len(points) > 1:
            pen.line(points, fill=k, width=1)
        for x, y in points:
            pen.point((x, y), fill=k)
    drawn = np.asarray(canvas, dtype=np.int32)
    if not drawn.any():
        return np.zeros_like(drawn)
    rows, cols = ndimage.distance_transform_edt(drawn == 0, return_distances=False, return_indices=True)
    return np.where(mask, drawn[rows, cols], 0).astype(np.int32)


def cut_columns(profile: np.ndarray, line: float) -> list[int]:
    """Where to cut a too-wide part: minima of its ink per column, CUT_END × `line` from its ends and CUT_APART
    × `line` from each other, the emptiest first.

    >>> cut_columns(np.array([5, 5, 5, 5, 1, 5, 5, 5, 5.0]), line=10.0)
    [4]
    """
    margin, apart = max(1, round(CUT_END * line)), max(1, round(CUT_APART * line))
    smooth = ndimage.uniform_filter1d(profile.astype(np.float64), size=max(1, round(0.05 * line)))
    inner = np.arange(margin, len(profile) - margin)
    # a minimum, or the left end of a flat floor
    minima = [c for c in inner if smooth[c] < smooth[c - 1] and smooth[c] <= smooth[c + 1]]
    cuts: list[int] = []
    for c in sorted(minima, key=lambda c: smooth[c]):
        if all(abs(c - other) >= apart for other in cuts):
            cuts.append(int(c))
    return sorted(cuts)


def split_wide(parts: np.ndarray, count: int, line: float, too_wide: float) -> tuple[np.ndarray, list[int], list[int]]:
    """Parts wider than `too_wide` × `line` cut into column slices; the labels, their order (slices left to right
    in their part's place) and the part each label was cut from."""
    out = np.zeros_like(parts)
    order: list[int] = []
    source: list[int] = []
    boxes = ndimage.find_objects(parts, max_label=count)
    for label, box in enumerate(boxes, start=1):
        if box is None:
            continue
        own = parts[box] == label
        edges = [0, own.shape[1]]
        if own.shape[1] > too_wide * line:
            edges[1:1] = cut_columns(own.sum(axis=0), line)
        for left, right in pairwise(edges):
            order.append(len(order) + 1)
            source.append(label)
            out[box][:, left:right][own[:, left:right]] = order[-1]
    return out, order, source


def cuts_before(order: Sequence[int], source: Sequence[int]) -> list[int]:
    """For each place in the reading order, how many parts a digit boundary there would cut in two: those with
    slices on both sides of it (labels are 1-based, `source[label − 1]` the part a slice was cut from).

    >>> cuts_before([1, 2, 3], [1, 1, 2])
    [0, 1, 0]
    """
    return [len({source[label - 1] for label in order[:k]} & {source[label - 1] for label in order[k:]})
            for k in range(len(order))]


def grow_into_fringe(parts: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """Give the faint anti-aliased edge (ink below INK_THRESHOLD) to the part it borders, so a candidate's crop
    holds the same pixels a single digit's would."""
    grown = parts
    for _ in range(FRINGE):
        grown = np.where(grown == 0, ndimage.grey_dilation(grown, size=(3, 3)), grown)
    return np.where(ink > 0, grown, 0)


def median_gap(boxes: Sequence[tuple[slice, slice] | None]) -> float:
    """The median gap between neighbouring ink components, left to right (overlapping ones count as a negative
    gap); 0 for one component.

    >>> median_gap([(slice(0, 9), slice(0, 10)), (slice(0, 9), slice(30, 40)), (slice(0, 9), slice(38, 50))])
    9.0
    """
    spans = sorted((box[1].start, box[1].stop) for box in boxes if box is not None)
    if len(spans) < 2:
        return 0.0
    gaps, reach = [], spans[0][1]
    for start, stop in spans[1:]:
        gaps.append(start - reach)
        reach = max(reach, stop)
    return float(np.median(gaps))


def widest_gap(columns: np.ndarray) -> int:
    """The longest run of empty columns between inked ones.

    >>> widest_gap(np.array([1, 0, 0, 1, 0, 1], bool)), widest_gap(np.array([1, 1], bool))
    (2, 0)
    """
    inked = np.flatnonzero(columns)
    return int(np.diff(inked).max()) - 1 if inked.size > 1 else 0


@dataclass(frozen=True)
class Candidates:
    """Every run of neighbouring parts (`spans`: [start, stop) in reading order) that might be one digit: its
    box, widest inner gap, 28×28 and reading; `line` is the drawing's ink height, `parts` how many parts, `cuts`
    how many parts a digit starting at each part would cut through (`cuts_before`)."""

    spans: list[tuple[int, int]]
    boxes: list[tuple[int, int, int, int]]
    gaps: list[int]
    inks: list[np.ndarray]
    crops: np.ndarray
    read: Answers
    line: float
    parts: int
    cuts: list[int]
    prior: Prior

    def scores(self) -> np.ndarray:
        """log P(best digit) + bonus − shape cost, per candidate: what a segmentation sums.

        A digit whose left edge cuts through ink (a slice of a part on either side: `cuts`) earns no bonus, so a
        part is cut in two only where its pieces read better than it does whole. Touching digits must be cut,
        but the halves of a wide 0 or 4 read as confidently as digits do, and the bonus alone would tip them
        into two (every boundary between two digits is the left edge of exactly one)."""
        logp = np.log(np.clip(self.read.distribution.max(axis=1), FLOOR, 1.0))
        bonus = np.array([self.prior.bonus if self.cuts[start] == 0 else -self.prior.cut for start, _ in self.spans])
        cost = [self.prior.cost(x1 - x0, y1 - y0, gap, self.line)
                for (x0, y0, x1, y1), gap in zip(self.boxes, self.gaps, strict=True)]
        return logp + bonus - np.array(cost)


def candidates(ensemble: Ensemble, image: Image.Image, strokes: Sequence[Sequence[Point]] | None = None,
               personal: PersonalReader | None = None) -> Candidates:
    """Cut the drawing into parts and read every plausible run of them, all in one batch."""
    full = ink_map(image)
    rows, cols = (np.flatnonzero((full > INK_THRESHOLD).any(axis=axis)) for axis in (1, 0))
    if rows.size == 0:
        raise DrawingError("empty_drawing", "The canvas is empty: draw a number first.")
    line = float(rows[-1] - rows[0] + 1)
    # everything below works on the ink's box (with a margin for the faint edge): a fraction of a wide canvas
    y, x = max(0, rows[0] - FRINGE), max(0, cols[0] - FRINGE)
    ink = full[y:rows[-1] + 1 + FRINGE, x:cols[-1] + 1 + FRINGE]
    mask = ink > INK_THRESHOLD
    parts = stroke_parts(mask, strokes, image.size, (x, y)) if strokes else None
    prior = STROKES_PRIOR
    in_pixels: list[list[tuple[float, float]]] = []
    if parts is not None and parts.any():
        parts, order, source = split_wide(parts, len(strokes), line, STROKE_CUT_WIDTH)
        in_pixels = [[(p[0] * image.width, p[1] * image.height) for p in stroke] for stroke in strokes]
    else:
        components, count = ndimage.label(mask, structure=np.ones((3, 3)))
        spaced = median_gap(ndimage.find_objects(components)) >= SPACED * line
        prior = SPACED_IMAGE_PRIOR if spaced else IMAGE_PRIOR
        parts, order, source = split_wide(components, count, line, CUT_WIDTH)
        extent = ndimage.find_objects(parts)
        order = sorted(order, key=lambda label: extent[label - 1][1].start + extent[label - 1][1].stop)
    parts = grow_into_fringe(parts, ink)
    found = ndimage.find_objects(parts)
    order = [label for label in order if found[label - 1] is not None]  # a stroke that got no ink
    cuts = cuts_before(order, source)
    spans, boxes, gaps, inks, crops, paths = [], [], [], [], [], []
    top = int(parts.max())
    for start in range(len(order)):
        for stop in range(start + 1, min(len(order), start + MAX_PARTS) + 1):
            labels = order[start:stop]
            x0, y0, x1, y1 = candidate_box(found, labels)
            if x1 - x0 > MAX_WIDTH * line and stop > start + 1 and len({source[k - 1] for k in labels}) > 1:
                break  # adding parts only widens it (a part alone, or all of one cut part, is always a candidate)
            chosen = np.zeros(top + 1, bool)  # a lookup by label: np.isin sorted the window for every candidate
            chosen[labels] = True
            member = chosen[parts[y0:y1, x0:x1]]
            inks.append(np.where(member, ink[y0:y1, x0:x1], 0.0))
            crops.append(normalise(inks[-1]))
            spans.append((start, stop))
            boxes.append((int(x0 + x), int(y0 + y), int(x1 + x), int(y1 + y)))
            gaps.append(widest_gap(member.any(axis=0)))
            paths.append(whole_strokes(in_pixels, labels, order, source))
    batch = np.stack(crops)
    return Candidates(spans, boxes, gaps, inks, batch, ensemble.answers(batch, personal, paths), line, len(order),
                      cuts, prior)


def whole_strokes(strokes: Sequence[Sequence[Point]], labels: Sequence[int], order: Sequence[int],
                  source: Sequence[int]) -> np.ndarray | None:
    """The trajectory of a candidate made of whole strokes (`labels` are parts of `order`, `source[label − 1]` the
    stroke each was cut from), for the strokes net; none for one holding a slice of a stroke, or without strokes.

    >>> strokes = [[(0, 0), (0, 9)], [(5, 0), (9, 0), (5, 9)]]
    >>> whole_strokes(strokes, [1], [1, 2], [1, 2]).shape, whole_strokes(strokes, [2], [1, 2, 3], [1, 2, 2])
    ((160,), None)
    """
    if not strokes:
        return None
    mine = {source[label - 1] for label in labels}
    if any(source[label - 1] in mine and label not in labels for label in order):
        return None
    return trajectory([strokes[k - 1] for k in sorted(mine)])


def candidate_box(boxes: list[tuple[slice, slice]], labels: Sequence[int]) -> tuple[int, int, int, int]:
    chosen = [boxes[label - 1] for label in labels]
    return (min(b[1].start for b in chosen), min(b[0].start for b in chosen),
            max(b[1].stop for b in chosen), max(b[0].stop for b in chosen))


def best_path(spans: Sequence[tuple[int, int]], scores: np.ndarray, parts: int) -> list[int]:
    """The candidates covering parts 0…parts−1 in order with the highest total score (dynamic programming).

    >>> best_path([(0, 1), (1, 2), (0, 2)], np.array([-1.0, -1.0, -0.5]), 2)
    [2]
    >>> best_path([(0, 1), (1, 2), (0, 2)], np.array([-0.1, -0.1, -0.5]), 2)
    [0, 1]
    """
    best = np.full(parts + 1, -np.inf)
    best[0] = 0.0
    back = [-1] * (parts + 1)
    for k in sorted(range(len(spans)), key=lambda k: spans[k][1]):  # every way into a part before any out of it
        start, stop = spans[k]
        if best[start] + scores[k] > best[stop]:
            best[stop], back[stop] = best[start] + scores[k], k
    path, end = [], parts
    while end > 0:
        path.append(back[end])
        end = spans[back[end]][0]
    return path[::-1]


def read_number(ensemble: Ensemble, image: Image.Image, strokes: Sequence[Sequence[Point]] | None = None,
                personal: PersonalReader | None = None) -> Number:
    """The digits of `image` left to right, each read like a single digit (`strokes`: see `stroke_parts`)."""
    found = candidates(ensemble, image, strokes, personal)
    read = found.read
    digits = [ReadDigit(box=found.boxes[k], answer=int(read.answer[k]) if read.answer[k] >= 0 else None,
                        confidence=round(float(read.confidence[k]), 4), top3=top3(read.distribution[k]),
                        image=found.crops[k], ink=found.inks[k])
              for k in best_path(found.spans, found.scores(), found.parts)]
    return Number(sorted(digits, key=lambda d: d.box[0] + d.box[2]))


def check_strokes(strokes: Sequence[Sequence[Point]] | None, size: tuple[int, int]) -> None:
    """Strokes in image pixels must lie on the drawing, give or take MARGIN of its size (the page captures the
    pen a little past the canvas edge): others belong to another picture."""
    width, height = size
    for stroke in strokes or ():
        for x, y, *_ in stroke:
            inside = -STROKE_MARGIN * width <= x <= (1 + STROKE_MARGIN) * width
            if not (inside and -STROKE_MARGIN * height <= y <= (1 + STROKE_MARGIN) * height):
                raise DrawingError("bad_strokes", f"`strokes` must be pixels of the {width}×{height} image (at "
                                                  f"most {STROKE_MARGIN:.0%} of its size beyond its edges).")


def as_fractions(strokes: Sequence[Sequence[Point]] | None, size: tuple[int, int]) -> list[list[tuple[float, float]]]:
    """Pixel strokes as `stroke_parts` takes them: x a fraction of the width, y of the height.

    >>> as_fractions([[(84, 28, 0), (420, 140, 9)]], (840, 280))
    [[(0.1, 0.1), (0.5, 0.5)]]
    """
    width, height = size
    return [[(p[0] / width, p[1] / height) for p in stroke] for stroke in strokes or ()]


def owners(points: np.ndarray, digits: Sequence[ReadDigit]) -> np.ndarray:
    """Which digit each point (x in pixels) drew: the one whose box it is in, or nearest to, horizontally (boxes
    of a tight number overlap: then the one whose middle is nearest). Every point has exactly one owner.

    >>> box = lambda x0, x1: ReadDigit((x0, 0, x1, 9), 1, 1.0, [], np.zeros(0), np.zeros(0))
    >>> owners(np.array([5.0, 12.0, 40.0, 26.0, 19.0]), [box(0, 10), box(20, 30), box(18, 22)]).tolist()
    [0, 0, 1, 1, 2]
    """
    x0, x1 = (np.array([d.box[k] for d in digits], dtype=np.float64)[np.newaxis] for k in (0, 2))
    x = points[:, np.newaxis]
    outside = np.maximum(x0 - x, x - x1).clip(0)
    middle = np.abs(x - (x0 + x1) / 2)
    return np.where(outside == outside.min(axis=1, keepdims=True), middle, np.inf).argmin(axis=1)


def moved(pieces: Sequence[Sequence[Point]], origin: tuple[int, int], side: int) -> list[list[tuple[float, ...]]]:
    """Pixel strokes as fractions of a `side`-pixel square whose top-left is `origin`, rounded as the API stores
    them (4 decimals, whole ms), t counted from the first point: a single digit's strokes.

    >>> moved([[(15, 30, 500), (25, 30, 520)]], (10, 20), 20)
    [[(0.25, 0.5, 0), (0.75, 0.5, 20)]]
    """
    start = min((p[2] for piece in pieces for p in piece if len(p) > 2), default=0)
    return [[(round((p[0] - origin[0]) / side, 4), round((p[1] - origin[1]) / side, 4),
              *((round(p[2] - start),) if len(p) > 2 else ())) for p in piece] for piece in pieces]


@dataclass(frozen=True)
class CutOut:
    """One digit of a number as a drawing of its own, the way a single digit's sample is kept: its ink alone on
    a transparent square canvas (black, alpha = ink, so `normalise(ink_map(picture))` is the 28×28 it was read
    from), and the strokes that drew it as fractions of that square's side (None: none were sent)."""

    picture: Image.Image
    strokes: list[list[tuple[float, ...]]] | None


def cut_out(number: Number, strokes: Sequence[Sequence[Point]] | None) -> list[CutOut]:
    """Each digit of `number` on its own canvas (its box centred, CUT_MARGIN of its longer side around it), with the
    pieces of `strokes` (image pixels) that drew it: a stroke that runs from one digit into the next is cut
    where it crosses over, so every point goes to exactly one digit."""
    runs: list[list[list[Point]]] = [[] for _ in number.digits]
    for stroke in strokes or ():
        owner = owners(np.array([p[0] for p in stroke], dtype=np.float64), number.digits)
        for i, point in enumerate(stroke):
            if i == 0 or owner[i - 1] != owner[i]:
                runs[owner[i]].append([])
            runs[owner[i]][-1].append(point)
    cuts = []
    for digit, pieces in zip(number.digits, runs, strict=True):
        x0, y0, x1, y1 = digit.box
        side = math.ceil(max(x1 - x0, y1 - y0) * (1 + 2 * CUT_MARGIN))
        left, top = (side - (x1 - x0)) // 2, (side - (y1 - y0)) // 2
        alpha = np.zeros((side, side), np.uint8)
        alpha[top:top + y1 - y0, left:left + x1 - x0] = np.round(digit.ink * 255).astype(np.uint8)
        picture = Image.new("RGBA", (side, side), (0, 0, 0, 0))
        picture.putalpha(Image.fromarray(alpha, mode="L"))
        cuts.append(CutOut(picture, moved(pieces, (x0 - left, y0 - top), side) if pieces else None))
    return cuts
