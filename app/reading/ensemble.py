"""Four nets, one answer (five readings for someone the app has learned from).

`fnn` and `cnn` are the shipped weights and never change; `fnn_online` and `cnn_online` start as
copies and learn from corrections. The answer comes from the online pair (`decide`): if their top-1s
agree that is the answer; if they disagree and both are unsure (top-1 < 0.5) nothing is recognised;
otherwise their mean with the CNN counted twice decides. For a person with their own last layer
(`app.online.personal`) that layer reads too, and while it is trusted the answer is its blend with the
online pair, weighted towards the person (`PERSONAL_WEIGHT`). When the page sends the pen's path, the strokes net
(app.nets.strokes) reads it too, and the online pair and it answer together (`with_strokes`): on writers the nets
never saw that is right more often than either alone. A drawing the `rejection` detector says is no digit at all
(app.reading.rejection) is not recognised either, whatever the nets read: `reason` says which.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from app.nets.cnn_forward import CNNForward
from app.nets.gradient import Outer

SHIPPED = ("fnn", "cnn")  # trained offline, never changed while serving
ONLINE = ("fnn_online", "cnn_online")  # copies of the shipped pair that corrections teach
MODEL_NAMES = SHIPPED + ONLINE
UNSURE = 0.5
CNN_WEIGHT = 2.0  # how much more the CNN's reading counts when the pair disagree (`decide`)
PERSONAL_WEIGHT = 0.7  # of the person's layer in the blend; the online pair's mean has the rest
FLOOR = 1e-6  # probabilities are clipped here before they are multiplied, so no net's zero is final


class PersonalReader(Protocol):
    trusted: bool

    def predict_proba(self, features: np.ndarray) -> np.ndarray: ...


class Rejection(Protocol):
    """Says which drawings of a batch are no digit at all (app.reading.rejection.NotADigit)."""

    def rejects(self, x: np.ndarray, hidden: np.ndarray, probabilities: dict[str, np.ndarray],
                trajectories: np.ndarray | None = None,
                stroke_probabilities: np.ndarray | None = None) -> np.ndarray: ...


class StrokeReader(Protocol):
    def predict_proba(self, x: np.ndarray) -> np.ndarray: ...


class DigitModel(Protocol):
    def predict_proba(self, x: np.ndarray) -> np.ndarray: ...

    def learn(self, x: np.ndarray, y: np.ndarray, learning_rate: float) -> float: ...

    def copy(self) -> DigitModel: ...

    def get_weights(self) -> list[np.ndarray]: ...

    def set_weights(self, weights: list[np.ndarray]) -> None: ...

    def to_bytes(self) -> bytes: ...

    def load_bytes(self, data: bytes) -> None: ...

    def gradient(self, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]: ...

    def gradient_from_features(self, features: np.ndarray, y: np.ndarray) -> list[np.ndarray | Outer]: ...

    def hidden(self, x: np.ndarray) -> np.ndarray: ...

    def online_weights(self) -> list[np.ndarray]: ...

    def set_online_weights(self, weights: list[np.ndarray]) -> None: ...

    def frozen_features(self, x: np.ndarray) -> np.ndarray: ...

    def proba_from_features(self, features: np.ndarray) -> np.ndarray: ...


def decide(fnn: np.ndarray, cnn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Answers (−1 where not recognised) and confidences for batches of the FNN's and the CNN's probabilities.

    Agreeing top-1s are the answer, with the higher of their confidences. Disagreeing ones recognise nothing if
    both are below UNSURE; otherwise the top of their mean with the CNN counted `CNN_WEIGHT` times is the answer,
    and that mean's top its confidence. The original app let the more confident net win, so an FNN sure of a
    wrong digit overruled the CNN, which reads unseen writers better (models/README.md, "The answer rule").

    >>> fnn, cnn = np.array([[0.0, 0.9, 0.1]]), np.array([[0.0, 0.2, 0.8]])  # the more confident FNN says 1
    >>> [int(a) for a in decide(fnn, cnn)[0]], [int(a) for a in decide(fnn, fnn)[0]]
    ([2], [1])
    """
    top_fnn, top_cnn = fnn.argmax(axis=1), cnn.argmax(axis=1)
    conf_fnn, conf_cnn = fnn.max(axis=1), cnn.max(axis=1)
    agree = top_fnn == top_cnn
    weighted = (fnn + CNN_WEIGHT * cnn) / (1.0 + CNN_WEIGHT)  # its top is also the pair's, where they agree
    answer = weighted.argmax(axis=1)
    confidence = np.where(agree, np.maximum(conf_fnn, conf_cnn), weighted.max(axis=1))
    unsure = ~agree & (conf_fnn < UNSURE) & (conf_cnn < UNSURE)
    return np.where(unsure, -1, answer), confidence


def top3(probs: np.ndarray) -> list[list[float]]:
    order = np.argsort(probs)[::-1][:3]
    return [[int(k), round(float(probs[k]), 4)] for k in order]


@dataclass(frozen=True)
class Answers:
    """A batch's answers under the rule above: `answer` is −1 where nothing is recognised; `online` is the online
    pair's own answer; `distribution` (N×10) is the pair's plain mean, or the blend (what top-3s and a number's
    segmentation read; the pair's own answer weighs the CNN more where they disagree, `decide`)."""

    answer: np.ndarray
    confidence: np.ndarray
    online: np.ndarray
    distribution: np.ndarray
    answered_by: str

    def where(self, rows: np.ndarray, other: Answers) -> Answers:
        """These answers in `rows` (a mask), `other`'s in the rest: two readings of one batch, row by row."""
        return Answers(np.where(rows, self.answer, other.answer), np.where(rows, self.confidence, other.confidence),
                       other.online, np.where(rows[:, np.newaxis], self.distribution, other.distribution),
                       self.answered_by)


def with_strokes(fnn: np.ndarray, cnn: np.ndarray, strokes: np.ndarray) -> np.ndarray:
    """The three nets' probabilities multiplied and renormalised, per row: what the answer is read from when the
    pen's path was sent.

    A product, not a mean: each net can veto a digit the others believe (a 4 whose picture looks like a 6 but
    whose pen never went round), and readings that agree end up surer than any of them. Chosen by the
    writer-grouped cross-validation (models/README.md) over a mean and weighted products.

    >>> six, four = np.full((1, 10), 0.02), np.full((1, 10), 0.02)
    >>> six[0, [6, 4]], four[0, [4, 6]] = (0.7, 0.14), (0.8, 0.04)
    >>> int(with_strokes(six, six, four).argmax()), int(with_strokes(six, four, four).argmax())
    (6, 4)
    """
    logs = sum(np.log(np.clip(p, FLOOR, 1.0)) for p in (fnn, cnn, strokes))
    product = np.exp(logs - logs.max(axis=1, keepdims=True))
    return product / product.sum(axis=1, keepdims=True)


def combine(fnn_online: np.ndarray, cnn_online: np.ndarray, mine: np.ndarray | None = None,
            strokes: np.ndarray | None = None) -> Answers:
    """The online pair's answers, or their blend with a trusted person's layer (`mine`), for a batch; with the
    strokes net's reading (`strokes`, when the pen's path was sent) the three nets' product (`with_strokes`)
    takes the place of the pair's mean, and answers unless it is below UNSURE (not recognised).

    >>> sure, unsure = np.eye(10)[[3]], np.full((1, 10), 0.1)
    >>> chosen = combine(sure, unsure)
    >>> int(chosen.answer[0]), round(float(chosen.confidence[0]), 2), chosen.answered_by
    (3, 0.4, 'online')
    """
    online, confidence = decide(fnn_online, cnn_online)
    pooled = (fnn_online + cnn_online) / 2 if strokes is None else with_strokes(fnn_online, cnn_online, strokes)
    if mine is not None:
        mixed = PERSONAL_WEIGHT * mine + (1 - PERSONAL_WEIGHT) * pooled
        return Answers(mixed.argmax(axis=1), mixed.max(axis=1), online, mixed, "personal")
    if strokes is None:
        return Answers(online, confidence, online, pooled, "online")
    sure = pooled.max(axis=1)
    return Answers(np.where(sure >= UNSURE, pooled.argmax(axis=1), -1), sure, online, pooled, "online")


@dataclass(frozen=True)
class Read:
    """One drawing read: the /api/predict body, the online pair's own answer (−1: none: what a person's layer is
    judged against), and the shipped CNN's hidden units when they were computed."""

    body: dict[str, Any]
    online: int
    hidden: np.ndarray | None


@dataclass
class Ensemble:
    """The four nets held by one worker; `versions` counts accepted online updates."""

    models: dict[str, DigitModel]
    versions: dict[str, int]
    rejection: Rejection | None = None  # without it every drawing is some digit (or not recognised)
    strokes: StrokeReader | None = None  # reads the pen's path when one is sent (app.nets.strokes)

    @classmethod
    def from_shipped(cls, fnn: DigitModel, cnn: DigitModel) -> Ensemble:
        models = {"fnn": fnn, "cnn": cnn, "fnn_online": fnn.copy(), "cnn_online": cnn.copy()}
        return cls(models, dict.fromkeys(ONLINE, 0))

    def probabilities(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Every model's probabilities for a batch of 28×28 images."""
        return self._forward(x, MODEL_NAMES, with_hidden=False)[0]

    def _forward(self, x: np.ndarray, names: tuple[str, ...],
                 with_hidden: bool) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        """The probabilities of the models `names` and, if asked, the shipped CNN's hidden units, for a batch.

        Serving, the online CNN has the shipped one's convolutions (steps move only its dense layers), so they
        run once for both, and the shipped CNN's probabilities come from the hidden units a person's layer
        reads: one convolutional pass per request instead of three, the largest part of a prediction.
        """
        cnn, online = self.models["cnn"], self.models["cnn_online"]
        if not (isinstance(cnn, CNNForward) and isinstance(online, CNNForward) and online.shares_features_with(cnn)):
            return ({name: self.models[name].predict_proba(x) for name in names},
                    self.hidden(x) if with_hidden else None)
        features = cnn.frozen_features(x)
        hidden = cnn.hidden_from_features(features) if with_hidden or "cnn" in names else None
        probs = {}
        for name in names:
            if name == "cnn":
                probs[name] = cnn.proba_from_hidden(hidden)
            elif name == "cnn_online":
                probs[name] = online.proba_from_features(features)
            else:
                probs[name] = self.models[name].predict_proba(x)
        return probs, hidden

    def predict(self, digit: np.ndarray, personal: PersonalReader | None = None,
                trajectory: np.ndarray | None = None) -> dict[str, Any]:
        """The /api/predict body (without the preview) for one 28×28 image (and the pen's `trajectory`, a vector
        of app.reading.trajectory, when the strokes were sent), read for `personal`'s person."""
        return self.read(digit, personal, trajectory=trajectory).body

    def read(self, digit: np.ndarray, personal: PersonalReader | None = None, *, with_hidden: bool = False,
             trajectory: np.ndarray | None = None) -> Read:
        """`predict`'s body, the online pair's own answer, and (`with_hidden`, or whenever the person's layer or the
        detector needed them) the shipped CNN's hidden units, which a correction teaches the person's layer with."""
        batch = digit[np.newaxis]
        wanted = with_hidden or personal is not None or self.rejection is not None  # they read the hidden units
        probs, hidden = self._forward(batch, MODEL_NAMES, with_hidden=wanted)
        readings = {name: {"top3": top3(probs[name][0])} for name in MODEL_NAMES}
        mine = None
        if personal is not None:
            mine = personal.predict_proba(hidden)
            readings["personal"] = {"top3": top3(mine[0])}
        path = None
        if self.strokes is not None and trajectory is not None:
            path = self.strokes.predict_proba(trajectory[np.newaxis])
            readings["strokes"] = {"top3": top3(path[0])}
        chosen = combine(probs["fnn_online"], probs["cnn_online"], mine if personal and personal.trusted else None,
                         path)
        answer = int(chosen.answer[0])
        reason = None if answer >= 0 else "not_sure"
        paths = None if path is None else trajectory[np.newaxis]
        if self.rejection is not None and self.rejection.rejects(batch, hidden, probs, paths, path)[0]:
            answer, reason = -1, "not_a_digit"
        recognized = answer >= 0
        return Read({
            "answer": answer if recognized else None,
            "recognized": recognized,
            "reason": reason,
            "confidence": round(float(chosen.confidence[0]), 4),
            "answered_by": chosen.answered_by,
            "models": readings,
            "model_version": dict(self.versions),
        }, int(chosen.online[0]), None if hidden is None else hidden[0])

    def answers(self, x: np.ndarray, personal: PersonalReader | None = None,
                trajectories: Sequence[np.ndarray | None] = ()) -> Answers:
        """The answers for a batch from the nets that decide them only (the online pair, and the person's layer
        while trusted): reading a number scores many candidate digits, so it skips the shipped pair's passes.
        Rows with a trajectory (`trajectories`, one per row or none at all) are read with their strokes too."""
        trusted = personal is not None and personal.trusted
        probs, hidden = self._forward(x, ONLINE, with_hidden=trusted)
        mine = personal.predict_proba(hidden) if personal is not None and trusted else None
        plain = combine(probs["fnn_online"], probs["cnn_online"], mine)
        known = np.array([t is not None for t in trajectories], dtype=bool)
        if self.strokes is None or not known.any():
            return plain
        paths = np.full((len(x), 10), 0.1, np.float32)  # rows without a trajectory keep the picture's answer
        paths[known] = self.strokes.predict_proba(np.stack([t for t in trajectories if t is not None]))
        return combine(probs["fnn_online"], probs["cnn_online"], mine, paths).where(known, plain)

    def hidden(self, x: np.ndarray) -> np.ndarray:
        """The shipped CNN's hidden units: what a person's own last layer reads."""
        return self.models["cnn"].hidden(x)
