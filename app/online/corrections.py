"""Learning from one labelled drawing, in the order that keeps the drawing safe.

A person's correction is the scarcest thing the app gets, so the sample is stored before anything can
fail on it (the nets' reading of it first, so the stats can score each net "test, then train"); only
then do the online nets take their guarded step and the person's own layer learn, and the stored
metadata is rewritten with what happened. HTTP knows nothing of this: app.web.api validates the
request and answers with what `learn_from` returns.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from app.online.personal import PersonalHead, person_hash
from app.reading.imaging import as_png, decode_bytes, ink_map, normalise, open_image
from app.runtime import Runtime
from app.samples.storage import StorageError
from app.samples.store import PENDING

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Correction:
    """A validated correction (app.web.schemas.CorrectRequest) and who sent it."""

    image: str
    label: int
    predicted: int | None
    strokes: list[list[tuple[float, ...]]] | None
    person: str | None
    consent: bool
    collection: bool
    client: str  # a salted hash of the sender, never their address

    @property
    def source(self) -> Literal["collection", "confirmation", "correction"]:
        if self.collection:
            return "collection"
        return "confirmation" if self.predicted == self.label else "correction"


@dataclass(frozen=True)
class Learned:
    """What became of a correction: the stored sample, whether the nets changed, and what to read it with now."""

    meta: dict[str, Any]
    stored: bool | str
    indexed: bool  # False while the sample index cannot be written (the sample is stored all the same)
    learned: bool
    reason: str
    digit: np.ndarray  # the 28×28 the nets read
    personal: PersonalHead | None  # the person's layer after learning, if they sent an id


def learn_from(state: Runtime, correction: Correction) -> Learned:
    """Store the drawing, then let the online nets and the person's own layer learn from it.

    Raises DrawingError for a drawing that cannot be read, before anything is stored.
    """
    raw = decode_bytes(correction.image)
    picture = open_image(raw)
    digit = normalise(ink_map(picture))
    person = correction.person

    state.learner.refresh()
    personal = state.people.head(person) if person else None
    shown, online_answer = state.ensemble.read(digit, personal)
    meta = state.samples.add(as_png(picture), {
        "label": correction.label,
        "source": correction.source,
        "predicted": correction.predicted,
        "answer": shown["answer"],
        "models": shown["models"],
        "model_version": shown["model_version"],
        "client": correction.client,
        "person": person_hash(person) if person else None,
        "canvas": {"width": picture.width, "height": picture.height},
        "strokes": correction.strokes,
        "consent": correction.consent,
        "status": PENDING,
    })
    label = correction.label
    outcome = state.learner.learn(digit, label, {"sample_id": meta["id"], "label": label, "public": correction.consent})
    if person:
        personal = _learn_personal(state, person, digit, label, shared_right=online_answer == label)
    meta.update(status=outcome.status, reason=outcome.reason,
                learned_version=outcome.version if outcome.learned else None)
    receipt = state.samples.write_meta(meta)
    return Learned(meta, receipt.stored, receipt.indexed, outcome.learned, outcome.reason, digit, personal)


def _learn_personal(state: Runtime, person: str, digit: np.ndarray, label: int, *,
                    shared_right: bool) -> PersonalHead | None:
    """The person's own layer learns the drawing too; if storage fails it keeps what it had (the sample is safe)."""
    try:
        return state.people.learn(person, state.ensemble.hidden(digit[np.newaxis])[0], label,
                                  shared_right=shared_right)
    except (StorageError, OSError) as error:
        log.warning("personal model not saved", extra={"error": repr(error)})
        return state.people.head(person)
