"""Online learning from one labelled drawing: augment → one step → guard → new version.

The original app's online learning was switched off because it "sometimes led to incorrect
predictions". Here every step is checked before it is kept: each net's candidate weights must still
read a fixed canary set of 1,000 MNIST digits about as well as the shipped net does (accuracy, and
cross-entropy both per step and in total), otherwise that net's step is undone; when both are
undone the sample is quarantined. A replay batch of the MNIST digits each net has drifted on most
rides along with each step (`app.online.rehearsal`), so that learning one person's 7 does not make the nets
forget everyone else's.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from app.nets.fnn import cross_entropy
from app.online.probe import Probe, first_layer
from app.online.publisher import Publisher
from app.online.reference import ReferenceDigits
from app.online.rehearsal import Rehearsal, Window
from app.online.steps import Direction, Step
from app.online.versions import BASELINE, Manifest, VersionStore
from app.reading.ensemble import ONLINE, SHIPPED, Ensemble, decide
from app.reading.imaging import variants
from app.samples.storage import StorageError
from app.samples.store import LEARNED, NOT_LEARNED, QUARANTINED

log = logging.getLogger(__name__)

# How far the canary's mean cross-entropy may rise: in one step, and in total above the shipped nets.
# Measured on held-out pendigits: 90 % of genuine fixes raise it by < 0.010 (FNN) / 0.007 (CNN) in a step,
# random wrong labels by a median 0.48 (FNN); the totals bound what many small harmful steps can add up to,
# which accuracy on 1,000 digits alone does not see (a step that flips no canary digit still moves margins).
LOSS_LIMITS = {"fnn_online": (0.05, 0.03), "cnn_online": (0.02, 0.015)}
_REFRESH_SECONDS = 1.0
STEP_MULTIPLES = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
_REFINEMENTS = 4  # halvings of the last doubling: the step found is within 2^(1/16) ≈ 4.4 % of the shortest
# The canary's first-layer sums are carried from version to version by `Probe` (float32 additions); every this many
# versions they are computed afresh, so that rounding cannot pile up over a long run
REBASE_EVERY = 32


@dataclass(frozen=True)
class Reading:
    """How a net does on the canary digits."""

    accuracy: float
    loss: float  # mean cross-entropy

    def as_dict(self) -> dict[str, float]:
        return {"accuracy": round(self.accuracy, 4), "loss": round(self.loss, 5)}


@dataclass(frozen=True)
class Standing:
    """How one online net stands at the current version: its canary reading, the canary's first-layer sums F·W1
    (from which `Probe` reads any step taken next), and the rehearsal candidates its next replay batch comes from."""

    reading: Reading
    first: np.ndarray
    window: Window


@dataclass(frozen=True)
class Attempt:
    """What `_step` did to each net: its canary reading, the guard's objections (none: accepted), the step as it
    is stored, and where the step takes the canary's first-layer sums and the rehearsal window."""

    readings: dict[str, Reading]
    objections: dict[str, list[str]]
    steps: dict[str, Step]
    firsts: dict[str, np.ndarray]
    windows: dict[str, Window]


@dataclass
class Outcome:
    status: str  # learned | quarantined (the guard said no) | not_learned (learning could not run)
    reason: str
    version: int
    canary: dict[str, Reading] = field(default_factory=dict)

    @property
    def learned(self) -> bool:
        return self.status == LEARNED


@dataclass(frozen=True)
class Decision:
    """What the learner made of a sample, and the version write it depends on (None: none): the outcome holds once
    that write has succeeded (`result`), which the publisher allows only if every write before it did."""

    outcome: Outcome
    written: Future[Manifest] | None = None

    def result(self) -> Outcome:
        """The outcome, once its version is in storage; raises what the write met (the sample stays pending)."""
        if self.written is not None:
            self.written.result()
        return self.outcome


class OnlineLearner:
    """Owns the online pair of one worker and keeps it in step with the shared version store."""

    def __init__(
        self,
        ensemble: Ensemble,
        versions: VersionStore,
        reference: ReferenceDigits | None,
        learning_rates: dict[str, float],
        margin: float,
        replay_batch: int = 64,  # MNIST digits rehearsed with each correction's 24 views
        seed: int = 0,
        off_reason: str = "learning is off on this server",  # why, when there are no reference digits
    ) -> None:
        self.ensemble = ensemble
        self.versions = versions
        self.reference = reference
        # said by /api/health and by every correction while this worker cannot learn; None while it can
        self.off_reason = None if reference is not None else off_reason
        self.learning_rates = learning_rates
        self.margin = margin
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._shipped = {name: ensemble.models[name.removesuffix("_online")] for name in ONLINE}
        self._replay_batch, self._seed = replay_batch, seed
        self._current: dict[str, Standing] | None = None  # the online pair on the canary, kept per version
        self.manifest = Manifest(BASELINE, BASELINE, [], None)  # as last read or written (`listing`: ≤ 1 s old)
        self._head = self.manifest  # the manifest with the versions drafted and not yet written, which steps build on
        self._publisher = Publisher(versions, self._written)

    # Computed when first needed, not at start: a web process follows versions and never learns, and
    # preparing the canary and the replay ranking cost it seconds of start-up (measured: 5.9 s of 9.1 s).

    @cached_property
    def _canary_features(self) -> dict[str, np.ndarray]:
        if self.reference is None:
            return {}
        return {name: model.frozen_features(self.reference.canary_x) for name, model in self._shipped.items()}

    @cached_property
    def floor(self) -> dict[str, Reading]:
        """How the shipped nets read the canary: the guard's floor, and what the pages show as the baseline."""
        return self._canary(self._shipped)

    @cached_property
    def rehearsal(self) -> Rehearsal | None:
        if self.reference is None:
            return None
        return Rehearsal(self.reference.replay_x, self.reference.replay_y, self._shipped, batch=self._replay_batch,
                         seed=self._seed)

    @property
    def version(self) -> int:
        return self.ensemble.versions["fnn_online"]

    def _canary(self, models: dict[str, Any]) -> dict[str, Reading]:
        if self.reference is None:  # learning is off here: no canary, no floor
            return {}
        return {name: self._reading(model.proba_from_features(self._canary_features[name]))
                for name, model in models.items()}

    def _reading(self, probs: np.ndarray) -> Reading:
        """How probabilities for the canary digits score against their labels."""
        assert self.reference is not None
        y = self.reference.canary_y
        return Reading(float((probs.argmax(1) == y).mean()), float(cross_entropy(probs, y).mean()))

    def _objections(self, name: str, new: Reading, now: Reading) -> list[str]:
        """Why this net's candidate weights must not become current (empty when they may)."""
        floor = self.floor[name]
        step_limit, total_limit = LOSS_LIMITS[name]
        objections = []
        if new.accuracy < floor.accuracy - self.margin:
            objections.append(f"{name} canary accuracy would fall to {new.accuracy:.1%} "
                              f"(floor {floor.accuracy - self.margin:.1%})")
        if new.loss - now.loss > step_limit:
            objections.append(f"{name} canary loss would jump by {new.loss - now.loss:.3f} (limit {step_limit})")
        if new.loss > floor.loss + total_limit:
            objections.append(f"{name} canary loss would reach {new.loss:.3f} (limit {floor.loss + total_limit:.3f})")
        return objections

    def _adopt(self, manifest: Manifest) -> None:
        """Make this worker's online pair the manifest's current version."""
        self._head = manifest
        if manifest.current == self.version:
            self.manifest = manifest
            return
        models = self.ensemble.models
        online, shipped = {n: models[f"{n}_online"] for n in SHIPPED}, {n: models[n] for n in SHIPPED}
        self.versions.bring(online, shipped, self.version, manifest, manifest.current)
        self.manifest = manifest
        for name in ONLINE:
            self.ensemble.versions[name] = manifest.current
        self._current = None
        log.info("adopted online version", extra={"version": manifest.current})

    def sync(self) -> Manifest:
        """Adopt the version storage says is current, and write on from it: only with no draft being written."""
        manifest = self.versions.read()
        self._adopt(manifest)
        self._publisher.restart(manifest)
        self._checked_at = time.monotonic()
        return manifest

    def resume(self) -> bool:
        """After a version failed to be written: wait for the writes still queued (refused, being drafted on top of
        it), then start again from what storage holds, so that their samples are learned again on top of that.
        False, doing nothing, while writes succeed; raises StorageError while storage cannot be read."""
        if not self._publisher.failed:
            return False
        with self._lock:
            self._publisher.drain()
            self.sync()
            return True

    def refresh(self, *, now: bool = False) -> None:
        """Adopt the current version if the last check is a second old (`now`: at once, e.g. when the learner has
        just published the version a correction waits for): `follow` calls this in the background.

        When storage is down the worker keeps serving what it has in memory and tries again later.
        """
        if not now and time.monotonic() - self._checked_at < _REFRESH_SECONDS:
            return
        with self._lock:
            try:
                self.sync()
            except (StorageError, OSError) as error:
                self._checked_at = time.monotonic()
                log.warning("model storage unreachable; serving the version in memory", extra={"error": repr(error)})

    def listing(self) -> Manifest:
        """The version manifest for pages that show it, without a storage read per request: as `follow` last
        read it (at most a second old, or older while storage is down)."""
        return self.manifest

    def follow(self, every_seconds: float = _REFRESH_SECONDS) -> None:
        """Adopt what the learner publishes, checking once a second: a web process's background thread, so
        that no request waits on storage for it (while S3 is down, each check costs its timeouts)."""
        while True:
            time.sleep(every_seconds)
            try:
                self.refresh()
            except Exception:  # keep following whatever one check met; the next one tries again
                log.exception("could not adopt the current online version")

    def learn(self, digit: np.ndarray, label: int, record: dict[str, Any]) -> Decision:
        """One gradient step on both online nets from one labelled drawing; kept only if the guard allows.

        The new version is written in the background (`app.online.publisher`) while the next step is computed;
        should its write fail, the decision raises and `resume` starts the nets again from storage.
        """
        if self.off_reason is not None:
            return Decision(Outcome(NOT_LEARNED, self.off_reason, self.version))
        with self._lock:
            return self._learn(digit, label, record)

    def prepare(self) -> None:
        """Pay at start what the first correction would: the guard's floor, the rehearsal ranking (the replay
        digits' features), the current version's standing, and TensorFlow's tracing of the step (one step taken on
        a canary digit, then undone). The learner process calls it before it takes the first sample, so that a
        correction made just after a deploy is decided within its wait, not seconds later."""
        if self.reference is None:
            return
        with self._lock:
            current = self._current = self._current or self._standing()
            before = {name: self.ensemble.models[name].online_weights() for name in ONLINE}
            self._step(self.reference.canary_x[0], int(self.reference.canary_y[0]), before, current)
            self._restore(before)

    def _standing(self) -> dict[str, Standing]:
        """The online pair on the canary, computed afresh."""
        assert self.rehearsal is not None
        online = {name: self.ensemble.models[name].online_weights() for name in ONLINE}
        readings = self._canary({name: self.ensemble.models[name] for name in ONLINE})
        return {name: Standing(readings[name], first_layer(self._canary_features[name], weights[0]),
                               self.rehearsal.window(name, weights, turn=self.version))
                for name, weights in online.items()}

    def _learn(self, digit: np.ndarray, label: int, record: dict[str, Any]) -> Decision:
        online = {name: self.ensemble.models[name] for name in ONLINE}
        current = self._current = self._current or self._standing()
        before = {name: model.online_weights() for name, model in online.items()}
        attempted = self._step(digit, label, before, current)
        canary, refused = attempted.readings, attempted.objections
        if len(refused) == len(ONLINE):
            self._restore(before)
            reasons = "; ".join(why for whys in refused.values() for why in whys)
            # judged on top of the versions still being written: it holds only once they are in storage
            return Decision(Outcome(QUARANTINED, f"quarantined: {reasons}", self.version, canary), self._publisher.last)
        standing = {name: Standing(canary[name], attempted.firsts[name], attempted.windows[name])
                    for name in ONLINE}
        for name in refused:  # keep the other net's step: one net may learn what the other cannot
            online[name].set_online_weights(before[name])
            canary[name], standing[name] = current[name].reading, current[name]
        kept = {name.removesuffix("_online"): attempted.steps[name] for name in ONLINE if name not in refused}
        readings = {name: reading.as_dict() for name, reading in canary.items()}
        draft = self.versions.draft(self._head, kept, self._whole, {**record, "canary": readings})
        self._head = draft.manifest
        for name in ONLINE:
            self.ensemble.versions[name] = draft.manifest.current
        self._current = None if draft.manifest.current % REBASE_EVERY == 0 else standing
        written = self._publisher.submit(draft)
        reason = "learned" + "".join(f"; {name} kept its weights: {'; '.join(why)}" for name, why in refused.items())
        return Decision(Outcome(LEARNED, reason, draft.manifest.current, canary), written)

    def _written(self, manifest: Manifest) -> None:
        """A version is in storage (the publisher's thread, in order): what `listing` and `LearningQueue`'s check
        for steps already taken read from now on."""
        self.manifest = manifest

    def _step(self, digit: np.ndarray, label: int, start: dict[str, list[np.ndarray]],
              current: dict[str, Standing]) -> Attempt:
        """One gradient step per net from `start`, as long as it takes for the drawing to be read right, if the
        guard agrees.

        Each net's gradient is computed once. Both take the base step; if the pair still misreads
        the drawing, the shortest length (up to 64×) that makes them read it right is searched for
        the CNN's step alone, then the FNN's alone, then both together, and the first the guard
        accepts is kept. A label no accepted length makes them read, such as a deliberately wrong
        one, keeps the base steps. Every length is taken along the gradient rounded to int8
        (app.online.steps), read through `Probe`s of the drawing and of the canary, and only the
        step kept is applied to the nets.
        """
        assert self.rehearsal is not None
        views = variants(digit)
        models = {name: self.ensemble.models[name] for name in ONLINE}
        labels = np.full(len(views), label)
        drawing, canary = {}, {}
        for name, model in models.items():
            seen = model.frozen_features(np.concatenate([digit[np.newaxis], views]))
            replay_features, replay_y = self.rehearsal.pick(name, start[name], current[name].window)
            direction = Direction.of(model.gradient_from_features(np.concatenate([seen[1:], replay_features]),
                                                                  np.concatenate([labels, replay_y])))
            drawing[name] = Probe.of(seen[:1], start[name], direction)
            canary[name] = Probe.of(self._canary_features[name], start[name], direction, current[name].first)
        readings: dict[str, Reading] = {}
        taken: dict[str, Step] = {}
        directions = {name: probe.direction for name, probe in drawing.items()}

        def move(names: tuple[str, ...], multiple: float) -> bool:
            for name in names:
                taken[name] = directions[name].step(self.learning_rates[name] * multiple)
            probs = {name: drawing[name].proba(taken[name]) for name in ONLINE}
            return int(decide(probs["fnn_online"], probs["cnn_online"])[0][0]) == label

        def shortest(names: tuple[str, ...]) -> bool:
            """Move to the shortest multiple that makes the pair read the drawing right, if one up to 64× does.

            A longer step than needed only does more damage to everything else: the doubling that
            first fixes the drawing is narrowed down by geometric bisection.
            """
            low, high = 1.0, None
            for multiple in STEP_MULTIPLES[1:]:
                if move(names, multiple):
                    high = multiple
                    break
                low = multiple
            if high is None:
                return False
            for _ in range(_REFINEMENTS):
                middle = float(np.sqrt(low * high))
                low, high = (low, middle) if move(names, middle) else (middle, high)
            return move(names, high)

        def judge(name: str) -> list[str]:
            readings[name] = self._reading(canary[name].proba(taken[name]))
            return self._objections(name, readings[name], current[name].reading)

        right = move(ONLINE, 1.0)
        objections = {name: judge(name) for name in ONLINE}
        if not right and not any(objections.values()):
            base = dict(readings)
            for names in (("cnn_online",), ("fnn_online",), ONLINE):
                if shortest(names) and not any([judge(name) for name in names]):
                    break
                move(names, 1.0)
                readings.update(base)
        windows = {}
        for name, model in models.items():
            moved = taken[name].apply(start[name])
            model.set_online_weights(moved)
            windows[name] = self.rehearsal.advance(name, current[name].window, taken[name], moved)
        return Attempt(readings, {name: why for name, why in objections.items() if why}, taken,
                       {name: canary[name].moved_first(taken[name]) for name in ONLINE}, windows)

    def _whole(self) -> dict[str, bytes]:
        """Every weight of the online pair, for a version stored as a snapshot."""
        return {name: self.ensemble.models[f"{name}_online"].to_bytes() for name in SHIPPED}

    def _restore(self, weights: dict[str, list[np.ndarray]]) -> None:
        for name, values in weights.items():
            self.ensemble.models[name].set_online_weights(values)

    def rollback(self, version: int) -> Manifest:
        with self._lock:
            manifest = self.versions.point_to(self.versions.read(), version)
            self._adopt(manifest)
            return manifest
