"""What one worker holds in memory: the four nets, the learner, people's own layers and the stores, built once."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy.exc import SQLAlchemyError

from app.config import Settings
from app.online.learner import OnlineLearner
from app.online.personal import People
from app.online.queue import LearningQueue
from app.online.reference import ReferenceDigits, ReferenceUnavailable
from app.online.versions import VersionStore
from app.reading.ensemble import Ensemble
from app.reading.model_files import load_for_serving, load_rejection, load_shipped, load_strokes, shipped_exist
from app.samples.backends import storage_from_settings
from app.samples.index import SampleIndex
from app.samples.reindex import recent_drift
from app.samples.storage import LocalStorage, Storage, StorageError
from app.samples.store import SampleStore

log = logging.getLogger(__name__)
_KEY = "digitdraw"
THREAD_IDLE_SECONDS = 2.0


class ModelsMissing(RuntimeError):
    """No trained weights were found at start: serving cannot answer until the operator trains."""


@dataclass
class Runtime:
    ensemble: Ensemble  # NumPy nets: they follow the versions the learner publishes
    learner: OnlineLearner  # this process's follower of versions (it never steps: the learning queue does)
    samples: SampleStore
    people: People
    index: SampleIndex  # what pages, filters and figures read instead of every stored JSON; the learning queue
    queue: LearningQueue | None  # the learner thread's queue, when this process learns (learner = "thread")


def online_learner(settings: Settings, ensemble: Ensemble, storage: Storage, reference: ReferenceDigits | None,
                   off_reason: str) -> OnlineLearner:
    """An online learner over `ensemble`, on the current version (the shipped weights if storage is down)."""
    learner = OnlineLearner(
        ensemble,
        VersionStore(storage, settings.keep_versions, settings.snapshot_every),
        reference,
        {"fnn_online": settings.fnn_learning_rate, "cnn_online": settings.cnn_learning_rate},
        settings.guard_margin,
        off_reason=off_reason,
    )
    try:
        learner.sync()
    except StorageError:
        log.exception("could not read the current online version; starting from the shipped weights")
    return learner


def learning_queue(settings: Settings, storage: Storage, samples: SampleStore, index: SampleIndex,
                   reference: ReferenceDigits) -> LearningQueue:
    """The one writer of versions, with its own Keras nets (the only place TensorFlow is imported at run time)."""
    from app.nets.cnn import configure_threads

    configure_threads(settings.tf_threads)
    fnn, cnn = load_shipped(settings.model_dir)
    learner = online_learner(settings, Ensemble.from_shipped(fnn, cnn), storage, reference, "")
    return LearningQueue(learner, samples, index)


def start(app: Flask, settings: Settings) -> None:
    """Load weights at start so no request pays for it; without weights the CLI still works."""
    if not shipped_exist(settings.model_dir):
        log.warning("no trained weights; run `flask --app app train`", extra={"model_dir": str(settings.model_dir)})
        return
    fnn, cnn = load_for_serving(settings.model_dir)
    ensemble = Ensemble.from_shipped(fnn, cnn)
    ensemble.rejection = load_rejection(settings.model_dir)
    ensemble.strokes = load_strokes(settings.model_dir)
    storage = storage_from_settings(settings)
    reference, off_reason = reference_digits(settings)
    learner = online_learner(settings, ensemble, storage, reference, off_reason)
    index = SampleIndex(settings.index_url())
    samples = sample_store(settings, storage, index)
    _check_index(samples, index)
    _start_flusher(samples)
    threading.Thread(target=learner.follow, name="version-follower", daemon=True).start()
    queue = None
    if settings.learner == "thread" and reference is not None:
        queue = learning_queue(settings, storage, samples, index, reference)
        # woken by this process's corrections; other samples (a reindex, a retry) wait at most THREAD_IDLE_SECONDS
        threading.Thread(target=queue.run, args=(threading.Event(), THREAD_IDLE_SECONDS), name="learner",
                         daemon=True).start()
    # a person's layer reads the shipped CNN's hidden units: it is only valid for these exact weights
    people = People(storage, *cnn.output_layer(), shipped=hashlib.sha256(cnn.to_bytes()).hexdigest()[:16])
    app.extensions[_KEY] = Runtime(ensemble, learner, samples, people, index, queue)
    log.info("models loaded", extra={"model_dir": str(settings.model_dir), "storage": repr(storage),
                                     "learner": settings.learner})


def reference_digits(settings: Settings) -> tuple[ReferenceDigits | None, str]:
    """The learner's canary and replay digits, or none and why: learning is off then, and says so (log,
    /api/health, each correction), instead of failing the start — reading and storing still work. The reason
    is only read while the digits are none."""
    if not settings.learning:
        log.info("online learning is turned off (DIGITDRAW_LEARNING)")
        return None, "learning is turned off on this server"
    try:
        return ReferenceDigits.load(settings.model_dir), ""
    except ReferenceUnavailable as error:
        log.error("online learning is off: the reference digits were refused",
                  extra={"model_dir": str(settings.model_dir), "error": str(error)})
        return None, f"learning is off on this server: {error}"


def sample_store(settings: Settings, storage: Storage, index: SampleIndex) -> SampleStore:
    """The crowd dataset as this process writes it: the storage, a local spool when that is S3, the index."""
    spool = LocalStorage(settings.data_dir / "spool") if settings.s3_bucket else None
    return SampleStore(storage, spool, index)


def _check_index(samples: SampleStore, index: SampleIndex) -> None:
    """Bring the index's schema up to date, and say (cheaply) whether it lacks recent samples. Neither a
    database nor a store that is down is fatal: samples are stored all the same and indexed once it answers."""
    try:
        index.migrate()
    except SQLAlchemyError as error:
        log.error("sample index unreachable: pages and figures answer 503 until it is",
                  extra={"error": type(error).__name__})
        return
    try:
        missing = recent_drift(samples, index)
    except (SQLAlchemyError, StorageError) as error:
        log.warning("sample index drift not checked", extra={"error": type(error).__name__})
        return
    if missing:
        log.warning("the sample index lacks stored samples; run `flask --app app reindex`",
                    extra={"missing": len(missing), "first": missing[0]})


def _start_flusher(samples: SampleStore, every_seconds: float = 2.0) -> None:
    """Drain the spool and index what the database missed in the background, so no request waits on a
    store that is down."""

    def loop() -> None:
        while True:
            time.sleep(every_seconds)
            try:
                samples.flush()
                samples.retry_index()
            except Exception:  # keep the thread alive whatever happens; the next round retries
                log.exception("flushing spooled samples failed")

    threading.Thread(target=loop, name="spool-flusher", daemon=True).start()


def runtime() -> Runtime:
    found = current_app.extensions.get(_KEY)
    if found is None:
        raise ModelsMissing("The models are not trained yet; the operator must run training.")
    return found


def ensemble() -> Ensemble:
    return runtime().ensemble
