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

from app.config import settings
from app.online.personal import PersonalHead, person_hash
from app.online.queue import wait_for_outcome
from app.reading.imaging import decode_bytes, ink_map, normalise, open_image, stored_png
from app.reading.trajectory import features as trajectory
from app.runtime import Runtime
from app.samples.storage import StorageError
from app.samples.store import LEARNED, NOT_LEARNED, PENDING

log = logging.getLogger(__name__)

QUEUED = "queued"


@dataclass(frozen=True)
class Correction:
    """A validated correction (app.web.schemas.CorrectRequest) and who sent it."""

    image: str
    label: int
    predicted: int | None
    strokes: list[list[tuple[float, ...]]] | None
    person: str | None
    consent: bool
    given: Literal["collection", "number"] | None  # what the drawing was made as: on request, or cut out of a number
    client: str  # a salted hash of the sender, never their address

    @property
    def source(self) -> Literal["collection", "confirmation", "correction", "number"]:
        if self.given is not None:
            return self.given
        return "confirmation" if self.predicted == self.label else "correction"


@dataclass(frozen=True)
class Learned:
    """What became of a correction: the stored sample, whether the nets changed, and what to read it with now."""

    meta: dict[str, Any]
    stored: bool | str
    indexed: bool  # False while the sample index cannot be written (the sample is stored all the same)
    status: str  # learned | quarantined | not_learned | queued (stored, the learner has not decided yet)
    reason: str
    digit: np.ndarray  # the 28×28 the nets read
    path: np.ndarray | None  # and the pen's trajectory (app.reading.trajectory), when the strokes were sent

    @property
    def learned(self) -> bool:
        return self.status == LEARNED
    personal: PersonalHead | None  # the person's layer after learning, if they sent an id


def learn_from(state: Runtime, correction: Correction) -> Learned:
    """Store the drawing, then let the online nets and the person's own layer learn from it.

    Raises DrawingError for a drawing that cannot be read, before anything is stored.
    """
    raw = decode_bytes(correction.image)
    picture = open_image(raw)
    digit = normalise(ink_map(picture))
    person = correction.person
    personal = state.people.head(person) if person else None
    path = trajectory(correction.strokes) if correction.strokes else None
    # with the hidden units for a person: their own layer learns from them
    read = state.ensemble.read(digit, personal, with_hidden=bool(person), trajectory=path)
    shown = read.body
    meta, receipt = state.samples.add(stored_png(raw, picture), {
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
    status, reason = _outcome(state, meta, receipt.indexed, receipt.stored)
    if person:
        assert read.hidden is not None
        personal = _learn_personal(state, person, read.hidden, label, shared_right=read.online == label)
    return Learned(meta, receipt.stored, receipt.indexed, status, reason, digit, path, personal)


def _outcome(state: Runtime, meta: dict[str, Any], indexed: bool, stored: bool | str) -> tuple[str, str]:
    """What learning made of the stored sample: the learner's decision if it comes within the configured
    wait (the web process then adopts the new version, so the answer reads with it), else "queued"."""
    off = state.learner.off_reason
    if state.queue is None and off is not None:  # this process learns, and cannot
        meta.update(status=NOT_LEARNED, reason=off)
        state.samples.write_meta(meta)
        return NOT_LEARNED, off
    if indexed and stored is True:  # a spooled sample is not in storage yet: no learner can read it before the flush
        if state.queue is not None:
            state.queue.wake.set()
        decided = wait_for_outcome(state.index, meta["id"], settings().learn_wait_seconds)
        if decided is not None:
            state.learner.refresh(now=True)  # read with the version just published (S3 down: what we have)
            return decided["status"], decided["reason"] or decided["status"]
    return QUEUED, "queued: saved; the learner has not reached it yet and will learn it in order"


def _learn_personal(state: Runtime, person: str, hidden: np.ndarray, label: int, *,
                    shared_right: bool) -> PersonalHead | None:
    """The person's own layer learns the drawing too; if storage fails it keeps what it had (the sample is safe)."""
    try:
        return state.people.learn(person, hidden, label, shared_right=shared_right)
    except (StorageError, OSError) as error:
        log.warning("personal model not saved", extra={"error": repr(error)})
        return state.people.head(person)
