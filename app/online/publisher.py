"""Writing versions in order on a thread of its own, while the learner computes the next step.

A version's files and the manifest's conditional put took a fifth of each correction on local disk
(cProfile: 12 of 64 ms) and on S3 cost a request of tens of milliseconds each. So the learner drafts
each version in memory (`VersionStore.draft`), steps on from the draft at once, and hands it to the
publisher, which writes the drafts one at a time in the order given, each conditional on the
manifest the one before it left. A version is in storage before its sample is marked learned, as
before; only the learner no longer waits for it.

If a write fails (storage down, or a rollback moved the manifest: `Conflict`), every draft after it
was computed on top of a version that does not exist, so the publisher refuses those too
(`Superseded`) until the learner has started again from what storage holds (`restart`): their
samples stay pending and are learned again, in order. At most `depth` drafts wait, which bounds what
one failure undoes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from app.online.versions import Draft, Manifest, VersionStore

DEPTH = 4


class Superseded(Exception):
    """A draft computed on top of a version whose write failed: it was not written."""


class Publisher:
    """Writes drafted versions to a `VersionStore` in submission order, on one background thread."""

    def __init__(self, versions: VersionStore, written: Callable[[Manifest], None], depth: int = DEPTH) -> None:
        """`written` is told each manifest as written, on the publisher's thread, before the write's future is done:
        whoever waits for a write then finds its effects in place."""
        self.versions = versions
        self._written = written
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="publisher")
        self._room = threading.BoundedSemaphore(depth)
        self._tag: str | None = None  # the manifest's tag as the last write left it
        self.failed = False  # a write failed; later drafts are refused until `restart`
        self.last: Future[Manifest] | None = None  # the write submitted last: it succeeds only if all before it did

    def restart(self, manifest: Manifest) -> None:
        """Write on from `manifest`, as just read from storage. Only once every submitted draft is done (`drain`)."""
        self._tag, self.failed, self.last = manifest.tag, False, None

    def submit(self, draft: Draft) -> Future[Manifest]:
        """Queue `draft` to be written after those before it (waiting while `depth` drafts wait already); the
        future gives the manifest as written, or raises what the write met (`Superseded` after a failure)."""
        self._room.acquire()
        written = self._thread.submit(self._write, draft)
        written.add_done_callback(lambda _: self._room.release())
        self.last = written
        return written

    def drain(self) -> None:
        """Wait until every submitted draft is written or refused."""
        self._thread.submit(lambda: None).result()

    def _write(self, draft: Draft) -> Manifest:
        if self.failed:
            raise Superseded(f"version {draft.manifest.current} was drafted on top of one that was not written")
        try:
            manifest = self.versions.write(draft, self._tag)
        except BaseException:
            self.failed = True
            raise
        self._tag = manifest.tag
        self._written(manifest)
        return manifest
