"""The learning queue: corrections wait in the sample index as `pending` and one learner takes them in order.

Training inside the correction request made every web worker carry TensorFlow and the whole learning
state, made predictions wait behind gradient steps, and had the workers race for the manifest. Here
the request only stores the drawing and its index row; the learner — the one writer of versions,
either its own process (`flask --app app learn`, the Procfile's `learner:`) or a thread of a single
process — takes the oldest pending sample, reads its drawing back from storage, takes exactly the
guarded step `OnlineLearner.learn` takes, publishes the version (which records the sample's id) and
rewrites the sample's status. One writer gives one order of updates by construction.

A sample is never learned twice: after a crash between publishing a version and rewriting the
sample's status, the version's record names the sample, so the restarted learner marks it learned
without stepping again. After a `kill -9` it resumes at the oldest pending sample. A sample's status
is written only once its version is in storage; the versions themselves are written in the
background while the next sample is stepped on (`app.online.publisher`), and when one fails to be
written, it and the samples stepped on top of it stay pending and are learned again, in order.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from app.online import publisher
from app.online.learner import Decision, OnlineLearner, Outcome
from app.reading.imaging import DrawingError, ink_map, normalise, open_image
from app.samples.index import SampleIndex
from app.samples.storage import NotFound, StorageError, StorageUnavailable
from app.samples.store import LEARNED, NOT_LEARNED, PENDING, SampleStore

log = logging.getLogger(__name__)

# A correction waits for the learner only with at most this many ahead of it in the queue: further back it
# would not be decided within the wait anyway, and every waiting request holds a web worker's thread
# (measured in bench/soak.py: with the learner behind, waits of 2 s held predictions up to 2.2 s).
WAIT_AHEAD = 4
FIRST_IDLE_SECONDS = 0.01  # an empty queue is looked at again soon, then less and less often, up to max_idle
# how long a correction made in a web process may wait for an idle learner to look. Most corrections find the
# learner idle: at 0.2 s one posted to an idle web + learner pair was answered in 242 ms (p50), at 0.05 s in 91 ms;
# the idle learner's looking costs 24 ms of CPU a second at the lowest priority, against 6.5 ms at 0.2 s
MAX_IDLE_SECONDS = 0.05
RETRY_SECONDS = 1.0  # after storage or the index failed: the sample stays first in the queue
READ_AHEAD = 2  # pending samples whose files are read while the learner steps on the one before them


class LearningQueue:
    """Takes pending samples from the index, oldest first, and learns from each exactly once."""

    def __init__(self, learner: OnlineLearner, samples: SampleStore, index: SampleIndex) -> None:
        self.learner = learner
        self.samples = samples
        self.index = index
        self.wake = threading.Event()  # set by a correction in this process, so a thread learner starts at once
        # Storage round trips overlap the steps: the next samples' files are read, and a decided sample's status
        # written once its version is, on these threads while the learner computes (on S3 each is a request of tens
        # of milliseconds); a status waits on its version's write, so there is a thread for each version queued
        self._io = ThreadPoolExecutor(max_workers=READ_AHEAD + publisher.DEPTH, thread_name_prefix="learner-io")
        self._reading: dict[str, Future[tuple[dict[str, Any], bytes]]] = {}
        self._writing: dict[str, Future[Any]] = {}

    def learn_next(self) -> bool:
        """Learn from the oldest pending sample; False when there is none (or it cannot be read yet).

        The sample's new status is written in the background once its version is (`settle` waits for both);
        until then it is skipped here. Should the status write fail, or the process die first, the sample is
        found pending again and its step in the manifest (`_already_learned`): it is marked, never stepped on
        twice. Should its version's write fail, the learner starts again from storage and this raises
        StorageUnavailable, so that the loop waits before it learns the sample again.
        """
        self._reap()
        if self.learner.resume():
            self.settle()
            raise StorageUnavailable("a version could not be written; its samples stay pending")
        found = [row for row in self.index.pending(limit=len(self._writing) + READ_AHEAD + 1)
                 if row["id"] not in self._writing][:READ_AHEAD + 1]
        self._reading = {row["id"]: self._reading.get(row["id"]) or self._io.submit(self._read, row) for row in found}
        if not found:
            return False
        row = found[0]
        try:
            meta, png = self._reading.pop(row["id"]).result()
        except NotFound:  # spooled on a web host while S3 was down, or deleted: not in storage yet
            log.info("pending sample not in storage yet", extra={"sample_id": row["id"]})
            return False
        decision = self._already_learned(row["id"]) or self._learn(meta, png)
        self._writing[row["id"]] = self._io.submit(self._mark, meta, decision)
        return True

    def _mark(self, meta: dict[str, Any], decision: Decision) -> None:
        """Write the sample's new status once its decision holds (its version is in storage)."""
        outcome = decision.result()
        meta.update(status=outcome.status, reason=outcome.reason,
                    learned_version=outcome.version if outcome.learned else None)
        self.samples.write_meta(meta)

    def settle(self) -> None:
        """Wait until every decided sample's status is written (or has failed, to be found again)."""
        wait(list(self._writing.values()))
        self._reap()

    def _read(self, row: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        return json.loads(self.samples.storage.get(row["json_key"])), self.samples.storage.get(row["png_key"])

    def _reap(self) -> None:
        """Forget the status writes that are done; one that failed leaves its sample pending, to be marked again."""
        for sample_id, written in list(self._writing.items()):
            if written.done():
                del self._writing[sample_id]
                if written.exception() is not None:
                    log.warning("sample not marked; it stays pending, to be learned or marked again",
                                extra={"sample_id": sample_id, "error": type(written.exception()).__name__})

    def _already_learned(self, sample_id: str) -> Decision | None:
        """The outcome of a step published before a crash kept the sample's status from being rewritten (the
        manifest as this learner last read or wrote it: it is the only writer of versions)."""
        record = next((r for r in reversed(self.learner.manifest.versions) if r.get("sample_id") == sample_id), None)
        if record is None:
            return None
        log.warning("sample was learned before a restart; not learning it twice", extra={"sample_id": sample_id})
        return Decision(Outcome(LEARNED, "learned", record["version"]))

    def _learn(self, meta: dict, png: bytes) -> Decision:
        try:
            digit = normalise(ink_map(open_image(png)))
        except DrawingError as error:  # stored drawings were read once already; a damaged one is not retried
            return Decision(Outcome(NOT_LEARNED, f"the stored drawing cannot be read: {error.message}",
                                    self.learner.version))
        record = {"sample_id": meta["id"], "label": meta["label"], "public": bool(meta.get("consent"))}
        return self.learner.learn(digit, meta["label"], record)

    def run(self, stop: threading.Event, max_idle: float = MAX_IDLE_SECONDS) -> None:
        """Learn until `stop` is set: the learner process's and the learner thread's loop.

        A correction made in this process wakes it at once (`wake`); otherwise an idle learner looks at
        the index at most every `max_idle` seconds, which bounds how long a correction made elsewhere waits.
        It first takes the index's learner lock, so that of all the learners started (a process, or a thread
        in each of several workers) exactly one learns and the others stand by.
        """
        with self.index.learner_lock():
            while not stop.is_set():  # a learner that stood by starts from what the last one published
                try:
                    self.learner.sync()
                    break
                except (StorageError, OSError) as error:  # storage down at start: wait for it, don't die
                    log.warning("learner waiting for storage", extra={"error": type(error).__name__})
                    stop.wait(RETRY_SECONDS)
            self.learner.prepare()
            log.info("learner started", extra={"version": self.learner.version})
            try:
                self._loop(stop, max_idle)
            finally:
                self.settle()

    def _loop(self, stop: threading.Event, max_idle: float) -> None:
        idle = FIRST_IDLE_SECONDS
        while not stop.is_set():
            try:
                busy = self.learn_next()
            except (StorageError, SQLAlchemyError, OSError) as error:
                log.warning("learner waiting for storage or the index", extra={"error": type(error).__name__})
                stop.wait(RETRY_SECONDS)
                continue
            except Exception:  # keep learning whatever one sample did; it stays pending for the next round
                log.exception("learning step failed")
                stop.wait(RETRY_SECONDS)
                continue
            if busy:
                idle = FIRST_IDLE_SECONDS
                continue
            idle = FIRST_IDLE_SECONDS if self.wake.wait(idle) else min(idle * 2, max_idle)
            self.wake.clear()


def wait_for_outcome(index: SampleIndex, sample_id: str, seconds: float) -> dict[str, Any] | None:
    """The sample's index row once learning has decided (None if it has not within `seconds`, or at once
    when more than WAIT_AHEAD corrections are ahead of it): what a correction request waits for before it
    answers. Polls the index, quickly at first."""
    if sample_id not in {row["id"] for row in index.pending(limit=WAIT_AHEAD + 1)}:
        found = index.get(sample_id)
        return found if found is not None and found["status"] != PENDING else None
    deadline = time.monotonic() + seconds
    delay = 0.002
    while True:
        found = index.get(sample_id)
        if found is not None and found["status"] != PENDING:
            return found
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        time.sleep(min(delay, left))
        delay = min(delay * 2, 0.05)
