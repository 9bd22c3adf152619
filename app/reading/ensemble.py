"""Four nets, one answer (five readings for someone the app has learned from).

`fnn` and `cnn` are the shipped weights and never change; `fnn_online` and `cnn_online` start as
copies and learn from corrections. The answer comes from the online pair with the original app's
rule: if their top-1s agree that is the answer; if both are unsure (top-1 < 0.5) nothing is
recognised; otherwise the more confident one wins. For a person with their own last layer
(`app.online.personal`) that layer reads too, and while it is trusted the answer is its blend with the
online pair, weighted towards the person (`PERSONAL_WEIGHT`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

SHIPPED = ("fnn", "cnn")  # trained offline, never changed while serving
ONLINE = ("fnn_online", "cnn_online")  # copies of the shipped pair that corrections teach
MODEL_NAMES = SHIPPED + ONLINE
UNSURE = 0.5
PERSONAL_WEIGHT = 0.7  # of the person's layer in the blend; the online pair's mean has the rest


class PersonalReader(Protocol):
    trusted: bool

    def predict_proba(self, features: np.ndarray) -> np.ndarray: ...


class DigitModel(Protocol):
    def predict_proba(self, x: np.ndarray) -> np.ndarray: ...

    def learn(self, x: np.ndarray, y: np.ndarray, learning_rate: float) -> float: ...

    def copy(self) -> DigitModel: ...

    def get_weights(self) -> list[np.ndarray]: ...

    def set_weights(self, weights: list[np.ndarray]) -> None: ...

    def to_bytes(self) -> bytes: ...

    def load_bytes(self, data: bytes) -> None: ...

    def gradient(self, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]: ...

    def hidden(self, x: np.ndarray) -> np.ndarray: ...

    def online_weights(self) -> list[np.ndarray]: ...

    def set_online_weights(self, weights: list[np.ndarray]) -> None: ...

    def frozen_features(self, x: np.ndarray) -> np.ndarray: ...

    def proba_from_features(self, features: np.ndarray) -> np.ndarray: ...


def decide(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Answers (−1 where not recognised) and confidences for batches of two models' probabilities."""
    top_a, top_b = first.argmax(axis=1), second.argmax(axis=1)
    conf_a, conf_b = first.max(axis=1), second.max(axis=1)
    agree = top_a == top_b
    a_wins = conf_a >= conf_b
    answer = np.where(agree | a_wins, top_a, top_b)
    confidence = np.where(agree, np.maximum(conf_a, conf_b), np.where(a_wins, conf_a, conf_b))
    unsure = ~agree & (conf_a < UNSURE) & (conf_b < UNSURE)
    return np.where(unsure, -1, answer), confidence


def top3(probs: np.ndarray) -> list[list[float]]:
    order = np.argsort(probs)[::-1][:3]
    return [[int(k), round(float(probs[k]), 4)] for k in order]


@dataclass
class Ensemble:
    """The four nets held by one worker; `versions` counts accepted online updates."""

    models: dict[str, DigitModel]
    versions: dict[str, int]

    @classmethod
    def from_shipped(cls, fnn: DigitModel, cnn: DigitModel) -> Ensemble:
        models = {"fnn": fnn, "cnn": cnn, "fnn_online": fnn.copy(), "cnn_online": cnn.copy()}
        return cls(models, dict.fromkeys(ONLINE, 0))

    def probabilities(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Every model's probabilities for a batch of 28×28 images."""
        return {name: self.models[name].predict_proba(x) for name in MODEL_NAMES}

    def predict(self, digit: np.ndarray, personal: PersonalReader | None = None) -> dict[str, Any]:
        """The /api/predict body (without the preview) for one 28×28 image, read for `personal`'s person."""
        return self.read(digit, personal)[0]

    def read(self, digit: np.ndarray, personal: PersonalReader | None = None) -> tuple[dict[str, Any], int]:
        """`predict`'s body and the online pair's own answer (−1: none), which a person's layer is judged against."""
        probs = {name: p[0] for name, p in self.probabilities(digit[np.newaxis]).items()}
        answers, confidences = decide(probs["fnn_online"][np.newaxis], probs["cnn_online"][np.newaxis])
        online_answer = int(answers[0])
        answer, confidence, answered_by = online_answer, float(confidences[0]), "online"
        readings = {name: {"top3": top3(probs[name])} for name in MODEL_NAMES}
        if personal is not None:
            mine = personal.predict_proba(self.hidden(digit[np.newaxis]))[0]
            readings["personal"] = {"top3": top3(mine)}
            if personal.trusted:
                mixed = PERSONAL_WEIGHT * mine + (1 - PERSONAL_WEIGHT) * (probs["fnn_online"] + probs["cnn_online"]) / 2
                answer, confidence, answered_by = int(mixed.argmax()), float(mixed.max()), "personal"
        recognized = answer >= 0
        return {
            "answer": answer if recognized else None,
            "recognized": recognized,
            "confidence": round(confidence, 4),
            "answered_by": answered_by,
            "models": readings,
            "model_version": dict(self.versions),
        }, online_answer

    def hidden(self, x: np.ndarray) -> np.ndarray:
        """The shipped CNN's hidden units: what a person's own last layer reads."""
        return self.models["cnn"].hidden(x)
