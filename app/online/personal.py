"""Each person's own last layer: the CNN's reading, refitted to one person's handwriting.

Why: the shared online nets learn for everyone at once, so they cannot learn what one writer means by
a loop on a stem (an 8) without unlearning what everyone else means by it (a 9); measured on the
held-out pendigits stream, half of what they still misread came from two such writers. A person's
own softmax layer over the shipped CNN's 625 hidden units can: it is refitted to all of that
person's labelled drawings after each one (maximum a posteriori: their cross-entropy plus a weak
Gaussian prior centred on the shipped layer, L-BFGS from the previous fit), so one odd drawing
hardly moves it while a quirk the person repeats is learned. It only ever answers for its person,
and only while it has read their drawings at least as well as the shared online pair did.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> kernel, bias = rng.normal(scale=0.05, size=(625, 10)), np.zeros(10)  # a shipped layer
>>> head = PersonalHead.fresh(kernel, bias)
>>> drawing = rng.random(625)
>>> label = int(np.argsort(head.predict_proba(drawing[np.newaxis])[0])[0])  # what it finds least likely
>>> for _ in range(3):
...     head.learn_one(drawing, label, shared_right=False)
>>> int(head.predict_proba(drawing[np.newaxis]).argmax()) == label, head.trusted
(True, True)
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from app.nets.fnn import softmax
from app.samples.storage import NotFound, PreconditionFailed, Storage, StorageError

log = logging.getLogger(__name__)

PERSON_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,64}")
PRIOR = 1e-5  # strength of the pull towards the shipped layer (how it was chosen: models/README)
MAX_DRAWINGS = 500  # a person's most recent drawings the layer is fitted to
TRUST_WINDOW = 50  # the person's last drawings on which their layer must match the shared pair
_FIT = {"maxiter": 50, "gtol": 1e-9, "ftol": 1e-14}
_CACHE_SECONDS = 1.0
_CACHE_PEOPLE = 32  # entries live 1 s, so only people drawing right now; a full head is up to 0.7 MB
_SAVE_ATTEMPTS = 5


@dataclass
class PersonalHead:
    """One person's softmax layer, the features of the drawings it was fitted to, and its record."""

    prior_kernel: np.ndarray  # (625, 10), the shipped CNN's last layer
    prior_bias: np.ndarray
    kernel: np.ndarray
    bias: np.ndarray
    features: np.ndarray  # (n, 625) float16: the shipped CNN's hidden units for each drawing
    labels: np.ndarray  # (n,)
    own_right: np.ndarray  # (n,) bool: this layer read the drawing right before learning it
    shared_right: np.ndarray  # (n,) bool: the shared online pair did

    @classmethod
    def fresh(cls, prior_kernel: np.ndarray, prior_bias: np.ndarray) -> PersonalHead:
        none = np.zeros(0, bool)
        return cls(prior_kernel, prior_bias, prior_kernel.copy(), prior_bias.copy(),
                   np.zeros((0, prior_kernel.shape[0]), np.float16), np.zeros(0, np.int64), none, none.copy())

    @property
    def size(self) -> int:
        return len(self.labels)

    @property
    def trusted(self) -> bool:
        """It may answer while it has read the person's recent drawings at least as well as the shared pair."""
        recent = slice(-TRUST_WINDOW, None)
        return self.size > 0 and int(self.own_right[recent].sum()) >= int(self.shared_right[recent].sum())

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        return softmax(features.astype(np.float64) @ self.kernel + self.bias)

    def learn_one(self, features: np.ndarray, label: int, *, shared_right: bool) -> None:
        """Add one labelled drawing (its hidden features) and refit the layer to all of them."""
        own_right = bool(self.predict_proba(features[np.newaxis])[0].argmax() == label)
        keep = slice(-(MAX_DRAWINGS - 1), None)
        self.features = np.concatenate([self.features[keep], features[np.newaxis].astype(np.float16)])
        self.labels = np.append(self.labels[keep], label)
        self.own_right = np.append(self.own_right[keep], own_right)
        self.shared_right = np.append(self.shared_right[keep], shared_right)
        self._fit()

    def _fit(self) -> None:
        x = self.features.astype(np.float64)
        targets = np.eye(10)[self.labels]
        prior = np.concatenate([self.prior_kernel.ravel(), self.prior_bias]).astype(np.float64)
        shape = self.kernel.shape

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            kernel, bias = theta[:-10].reshape(shape), theta[-10:]
            probs = softmax(x @ kernel + bias)
            error = (probs - targets) / len(x)
            loss = -float((np.log(probs + 1e-12) * targets).sum()) / len(x)
            gradient = np.concatenate([(x.T @ error).ravel(), error.sum(0)])
            pull = theta - prior
            return loss + 0.5 * PRIOR * float(pull @ pull), gradient + PRIOR * pull

        from scipy.optimize import minimize  # 20 MB that a worker serving only predictions never needs

        start = np.concatenate([self.kernel.ravel(), self.bias])
        theta = minimize(objective, start, jac=True, method="L-BFGS-B", options=_FIT).x
        self.kernel, self.bias = theta[:-10].reshape(shape), theta[-10:]

    def to_bytes(self, shipped: str) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, shipped=np.array(shipped), kernel=self.kernel, bias=self.bias, features=self.features,
                 labels=self.labels.astype(np.uint8), own_right=self.own_right, shared_right=self.shared_right)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, prior_kernel: np.ndarray, prior_bias: np.ndarray,
                   shipped: str) -> PersonalHead | None:
        """The stored head, or None when it was fitted on another shipped CNN's features (meaningless now)."""
        with np.load(io.BytesIO(data)) as arrays:
            if str(arrays["shipped"]) != shipped:
                return None
            return cls(prior_kernel, prior_bias, arrays["kernel"], arrays["bias"], arrays["features"],
                       arrays["labels"].astype(np.int64), arrays["own_right"], arrays["shared_right"])


def person_hash(person: str) -> str:
    """What storage and sample records hold instead of the id: the id is the browser's only claim to be
    that person, so whoever can list the bucket must not learn it."""
    return hashlib.sha256(person.encode()).hexdigest()[:32]


class People:
    """Every person's head in storage (one object each), with a short-lived cache per worker, so that
    whichever worker a request lands on reads the person's latest layer."""

    def __init__(self, storage: Storage, prior_kernel: np.ndarray, prior_bias: np.ndarray, shipped: str) -> None:
        self.storage = storage
        self.prior = (prior_kernel, prior_bias)
        self.shipped = shipped
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[float, PersonalHead | None, str | None]] = OrderedDict()

    @staticmethod
    def key(person: str) -> str:
        return f"people/{person_hash(person)}.npz"

    def head(self, person: str) -> PersonalHead | None:
        """The person's head to answer with; None for someone new, or if storage cannot say right now."""
        with self._lock:
            cached = self._cache.get(person)
            if cached is not None and time.monotonic() - cached[0] < _CACHE_SECONDS:
                return cached[1]
            try:
                return self._load(person)[0]
            except (StorageError, OSError) as error:
                log.warning("personal model unreadable; answering with the shared nets", extra={"error": repr(error)})
                return None if cached is None else cached[1]

    def learn(self, person: str, features: np.ndarray, label: int, *, shared_right: bool) -> PersonalHead | None:
        """Teach the person's head one drawing and save it; None when storage kept refusing the write."""
        with self._lock:
            for _ in range(_SAVE_ATTEMPTS):
                head, tag = self._load(person)
                head = head or PersonalHead.fresh(*self.prior)
                head.learn_one(features, label, shared_right=shared_right)
                try:
                    tag = self.storage.put_if(self.key(person), head.to_bytes(self.shipped), match=tag)
                except PreconditionFailed:
                    continue  # another worker saved this person meanwhile: learn on top of theirs
                except BaseException:
                    self._cache.pop(person, None)  # the cached head learned what was not saved
                    raise
                self._remember(person, head, tag)
                return head
        return None

    def _load(self, person: str) -> tuple[PersonalHead | None, str | None]:
        try:
            data, tag = self.storage.get_with_tag(self.key(person))
        except NotFound:
            head, tag = None, None
        else:
            head = PersonalHead.from_bytes(data, *self.prior, self.shipped)
        self._remember(person, head, tag)
        return head, tag

    def _remember(self, person: str, head: PersonalHead | None, tag: str | None) -> None:
        self._cache[person] = (time.monotonic(), head, tag)
        self._cache.move_to_end(person)
        while len(self._cache) > _CACHE_PEOPLE:
            self._cache.popitem(last=False)
