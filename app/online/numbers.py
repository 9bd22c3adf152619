"""Learning from a corrected number: each digit taught exactly as a single digit's correction is, or, when
the correction and the reading disagree on how many digits there are, the whole drawing kept for later.

Which ink is which digit comes from the reading (app.reading.numbers), so a correction can only be split
where the reading has as many segments as the corrected number has digits; then each segment is cut out
as a drawing of its own and goes through `learn_from` (stored first, indexed, learned by the learner, the
person's layer), labelled with its digit of the correction. Otherwise no segment can be trusted to carry
its label, and the drawing is stored whole with its label string, so that nothing a person wrote is lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

from app.online.corrections import Correction, Learned, learn_from
from app.online.personal import PersonalHead, person_hash
from app.reading.imaging import as_png, decode_image, png_bytes, png_data_url
from app.reading.numbers import Number, Point, ReadDigit, as_fractions, check_strokes, cut_out, read_number
from app.runtime import Runtime

PixelStrokes = Sequence[Sequence[Point]] | None


@dataclass(frozen=True)
class NumberCorrection:
    """A validated number correction (app.web.schemas.ReadCorrectRequest) and who sent it; strokes in pixels."""

    image: str
    number: str
    strokes: PixelStrokes
    person: str | None
    consent: bool
    client: str  # a salted hash of the sender, never their address


@dataclass(frozen=True)
class Drawn:
    """A decoded drawing of a number (its strokes checked against it) and how the nets read it."""

    picture: Image.Image
    number: Number


@dataclass(frozen=True)
class NumberLearned:
    """What became of a number correction: one learned sample per digit (`digits`, with the segment each came
    from), or the whole drawing kept (`whole`: its metadata and whether it is stored or spooled)."""

    drawn: Drawn
    digits: list[tuple[ReadDigit, Learned]]
    whole: tuple[dict[str, Any], bool | str] | None
    personal: PersonalHead | None  # the person's layer after learning, if they sent an id


def read_drawing(state: Runtime, image: str, strokes: PixelStrokes, person: str | None) -> Drawn:
    """Decode `image`, check `strokes` lie on it, and read the number with the online versions as they are now
    (and the person's own layer). Raises DrawingError for a drawing that cannot be read."""
    picture = decode_image(image)
    check_strokes(strokes, picture.size)
    return Drawn(picture, read_picture(state, picture, strokes, person))


def read_picture(state: Runtime, picture: Image.Image, strokes: PixelStrokes, person: str | None) -> Number:
    """Read a decoded drawing with the online versions this process follows and the person's own layer."""
    personal = state.people.head(person) if person else None
    return read_number(state.ensemble, picture, as_fractions(strokes, picture.size) or None, personal)


def learn_number(state: Runtime, correction: NumberCorrection) -> NumberLearned:
    """Teach each digit of the corrected number, or keep the drawing whole; everything is read and cut before
    anything is stored, so a drawing that cannot be read stores nothing."""
    drawn = read_drawing(state, correction.image, correction.strokes, correction.person)
    digits = drawn.number.digits
    if len(digits) != len(correction.number):
        personal = state.people.head(correction.person) if correction.person else None
        return NumberLearned(drawn, [], keep_whole(state, correction, drawn), personal)
    learned = []
    for digit, cut, label in zip(digits, cut_out(drawn.number, correction.strokes), correction.number, strict=True):
        learned.append((digit, learn_from(state, Correction(
            image=png_data_url(png_bytes(cut.picture)), label=int(label), predicted=digit.answer,
            strokes=cut.strokes, person=correction.person, consent=correction.consent, given="number",
            client=correction.client))))
    return NumberLearned(drawn, learned, None, learned[-1][1].personal if correction.person else None)


def keep_whole(state: Runtime, correction: NumberCorrection, drawn: Drawn) -> tuple[dict[str, Any], bool | str]:
    """Store the drawing unsegmented with its label string and what the nets read in it, strokes in pixels of
    `canvas`, for training a reader of whole numbers later."""
    picture, number = drawn.picture, drawn.number
    return state.samples.add_number(as_png(picture), {
        "label": correction.number,
        "source": "number",
        "read": number.text,
        "digits": [{"box": list(d.box), "answer": d.answer, "confidence": d.confidence} for d in number.digits],
        "model_version": dict(state.ensemble.versions),
        "client": correction.client,
        "person": person_hash(correction.person) if correction.person else None,
        "canvas": {"width": picture.width, "height": picture.height},
        "strokes": [[list(p) for p in stroke] for stroke in correction.strokes] if correction.strokes else None,
        "stroke_units": "pixels",
        "consent": correction.consent,
    })
