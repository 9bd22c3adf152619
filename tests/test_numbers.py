"""Reading a number: pieces of one digit stay one digit, digits side by side are told apart, in order."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from app.config import ROOT
from app.offline import pendigits
from app.reading.ensemble import Ensemble
from app.reading.imaging import DrawingError, ink_map, normalise
from app.reading.model_files import load_shipped
from app.reading.numbers import read_number

HEIGHT, WIDTH = 280, 840

# Multi-stroke digits drawn by hand on a 280×280 canvas (pixels), each stroke lifted before the next.
FOUR = [[(150, 50), (80, 170), (190, 170)], [(160, 90), (160, 240)]]
FIVE = [[(110, 50), (100, 130), (150, 120), (185, 160), (175, 215), (130, 235), (90, 215)], [(110, 50), (190, 50)]]
SEVEN = [[(80, 50), (200, 50), (120, 240)], [(110, 145), (190, 145)]]
ONE = [[(120, 70), (145, 45), (145, 235)], [(105, 235), (185, 235)]]
BAR = [[(140, 50), (140, 235)]]  # a 1 in one stroke
TWO = [[(90, 90), (130, 55), (175, 75), (180, 120), (90, 235), (195, 235)]]
WIDE_ZERO = [[(140, 60), (80, 80), (50, 150), (80, 220), (140, 240), (200, 220), (230, 150), (200, 80), (140, 60)]]


@pytest.fixture(scope="module")
def ensemble() -> Ensemble:
    return Ensemble.from_shipped(*load_shipped(ROOT / "models"))


def fractions(strokes: list[pendigits.Stroke], width: int = HEIGHT) -> list[list[tuple[float, float]]]:
    return [[(x / width, y / HEIGHT) for x, y in stroke] for stroke in strokes]


@pytest.mark.parametrize(("strokes", "digit"), [(FOUR, 4), (FIVE, 5), (SEVEN, 7), (ONE, 1)],
                         ids=["4", "5-lifted-bar", "7-with-bar", "1-with-base"])
def test_a_digit_in_several_strokes_stays_one_digit(ensemble: Ensemble, strokes, digit: int) -> None:
    image = pendigits.render(strokes)
    for given in (None, fractions(strokes)):
        number = read_number(ensemble, image, given)
        assert [d.answer for d in number.digits] == [digit]


def test_one_digit_alone_is_read_exactly_as_a_single_digit(ensemble: Ensemble, pen_digits) -> None:
    digit, image = next(pendigits.canvas_drawings(pendigits.held_out(pen_digits)[:1]))
    number = read_number(ensemble, image)
    assert len(number.digits) == 1
    np.testing.assert_array_equal(number.digits[0].image, normalise(ink_map(image)))
    assert number.text == str(digit.label) == str(ensemble.predict(number.digits[0].image)["answer"])


def shifted(strokes: list[pendigits.Stroke], dx: float) -> list[pendigits.Stroke]:
    return [[(x + dx, y) for x, y in stroke] for stroke in strokes]


ZERO = [[(420, 80), (370, 110), (355, 160), (375, 215), (420, 225), (465, 200), (480, 150), (465, 100), (420, 80)]]


@pytest.mark.parametrize(("strokes", "text"), [(ZERO + shifted(ZERO, 128), "00"), (ZERO + shifted(BAR, 355), "01")],
                         ids=["00", "01"])
def test_touching_digits_are_split(ensemble: Ensemble, strokes, text: str) -> None:
    """Two digits that touch: one blob of ink, two digits, from the image alone."""
    image = pendigits.render(strokes, HEIGHT, width=WIDTH)
    assert ndimage.label(ink_map(image) > 0.1, structure=np.ones((3, 3)))[1] == 1
    assert read_number(ensemble, image).text == text
    assert read_number(ensemble, image, fractions(strokes, WIDTH)).text == text


def test_a_one_leaning_on_a_zero_is_split_by_its_strokes(ensemble: Ensemble) -> None:
    """A 1 drawn along a 0's left side makes a blob as round as a 0, which the nets read as a 0 whole as surely
    as they read its halves apart: from the image alone it is one digit (a cut earns no bonus, so a wide 0 is
    not cut in two either); its strokes tell it apart."""
    one = [[(340, 80), (340, 225)]]
    image = pendigits.render(one + ZERO, HEIGHT, width=WIDTH)
    assert ndimage.label(ink_map(image) > 0.1, structure=np.ones((3, 3)))[1] == 1
    assert read_number(ensemble, image, fractions(one + ZERO, WIDTH)).text == "10"


def test_a_wide_digit_alone_in_its_ink_is_not_cut_in_two(ensemble: Ensemble) -> None:
    """A round 0 wider than most digits is one component in a spaced number: its halves read as a 6 and a 7 just
    as confidently, but cutting through the ink of a digit that touches nothing costs more than a digit earns."""
    strokes = BAR + shifted(WIDE_ZERO, 220) + shifted(TWO, 540)
    image = pendigits.render(strokes, HEIGHT, width=WIDTH)
    assert ndimage.label(ink_map(image) > 0.1, structure=np.ones((3, 3)))[1] == 3
    assert read_number(ensemble, image).text == "102"
    assert read_number(ensemble, image, fractions(strokes, WIDTH)).text == "102"


@pytest.mark.parametrize(("picks", "layouts"), [((1439, 1011, 456), range(6)), ((28, 563), (4, 5, 7, 9))],
                         ids=["246", "06"])
def test_in_a_spaced_number_a_wide_digit_is_not_cut_into_two(ensemble: Ensemble, pen_digits, picks,
                                                             layouts) -> None:
    """Unseen writers' digits spaced as bench/read.py spaces them: writer 25's 2, whose foot runs far to the
    right, and writer 28's slanted 0, whose stroke runs on inside it, read as "6246" and "076" (once "6376")
    from the image alone in each of these layouts, their front cut off as a digit. A writer who leaves gaps rarely
    lets digits touch, so there cutting a component costs a digit (`SPACED_IMAGE_PRIOR`). The 2 still splits in
    one layout of 10 (seed 6)."""
    held_out = [d for d in pen_digits if d.writer in pendigits.HELD_OUT_WRITERS]
    digits = [held_out[k] for k in picks]
    text = "".join(str(d.label) for d in digits)
    for seed in layouts:
        number = pendigits.compose_number(digits, np.random.default_rng(seed), (0.15, 0.60), HEIGHT, WIDTH)
        image = pendigits.render([stroke for digit in number for stroke in digit], HEIGHT, width=WIDTH)
        assert read_number(ensemble, image).text == text, seed


def test_a_digit_wider_than_any_candidate_may_be_is_still_one_digit(ensemble: Ensemble) -> None:
    """A 2 whose base runs out in a long flourish, in one stroke, is wider than two digits may be together; cut at
    its ink profile's minima, its pieces read as 2s. All of one cut part is a candidate however wide, so it is
    read whole (before, this read "122")."""
    flourished_two = [[(90, 120), (130, 85), (175, 100), (180, 140), (100, 235), (380, 235)]]
    strokes = BAR + shifted(flourished_two, 150)
    image = pendigits.render(strokes, HEIGHT, width=WIDTH)
    for given in (None, fractions(strokes, WIDTH)):
        assert read_number(ensemble, image, given).text == "12"


LIFTED_FIVE = [FIVE[0], [(125, 22), (195, 22)]]  # the bar drawn clear of the body
BROKEN_FOUR = [FOUR[0], [(160, 60), (160, 150)], [(160, 190), (160, 245)]]  # the stem lifted over the bar


@pytest.mark.parametrize(("middle", "text"), [(LIFTED_FIVE, "251"), (BROKEN_FOUR, "241")], ids=["5", "4"])
def test_a_digit_in_pieces_that_do_not_touch_is_one_digit_in_a_number(ensemble: Ensemble, middle,
                                                                         text: str) -> None:
    """From the image alone, a 5 whose bar was lifted clear of its body, or a 4 whose stem stops short of the bar,
    is several components: they are one digit between two others."""
    strokes = TWO + shifted(middle, 260) + shifted(BAR, 530)
    image = pendigits.render(strokes, HEIGHT, width=WIDTH)
    assert ndimage.label(ink_map(image) > 0.1, structure=np.ones((3, 3)))[1] > 3
    for given in (None, fractions(strokes, WIDTH)):
        assert read_number(ensemble, image, given).text == text


def test_digits_come_in_reading_order_with_boxes_inside_the_image(ensemble: Ensemble) -> None:
    shift = [[(x + 560, y) for x, y in stroke] for stroke in SEVEN] + [[(x + 280, y) for x, y in s] for s in ONE]
    strokes = shift + FOUR  # drawn right to left: 7, then 1, then 4
    image = pendigits.render(strokes, HEIGHT, width=WIDTH)
    for given in (None, fractions(strokes, WIDTH)):
        number = read_number(ensemble, image, given)
        assert number.text == "417" and number.recognized
        assert 0 < number.confidence <= min(d.confidence for d in number.digits)
        for d in number.digits:
            x0, y0, x1, y1 = d.box
            assert 0 <= x0 < x1 <= WIDTH and 0 <= y0 < y1 <= HEIGHT
            assert d.image.shape == (28, 28) and d.top3[0][0] == d.answer
        assert [d.box[0] for d in number.digits] == sorted(d.box[0] for d in number.digits)


def test_an_empty_drawing_is_refused(ensemble: Ensemble) -> None:
    with pytest.raises(DrawingError) as refused:
        read_number(ensemble, Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0)), [])
    assert refused.value.code == "empty_drawing"
