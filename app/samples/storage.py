"""Where samples and online-net state are kept: a local folder by default, S3 when a bucket is configured.

Both backends honour one contract so the app never knows which it talks to. Conditional puts (compare-and-swap on
an opaque tag) are the only coordination primitive, because they work the same for gunicorn workers sharing a disk
and for several hosts sharing a bucket, without a lock server.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from pathlib import Path
from typing import Protocol

import filelock

DEFAULT_CONTENT_TYPE = "application/octet-stream"

# Lock files are striped over this many names so the .locks folder stays small however many keys exist;
# two keys sharing a stripe only ever wait for each other, they cannot deadlock (one lock is held at a time).
_LOCK_STRIPES = 256
# A lock holder is expected to finish in milliseconds; waiting longer means the disk is in trouble.
_LOCK_TIMEOUT_S = 10.0
_LOCK_DIR = ".locks"
_MKDIR_ATTEMPTS = 3  # a concurrent deletion may prune a folder just made; more than one race in a row is not seen


class StorageError(Exception):
    """Base of every storage failure, so callers need not know which backend raised it."""


class NotFound(StorageError):
    """The key does not exist."""


class PreconditionFailed(StorageError):
    """A conditional put lost: the key exists (create) or changed since it was read (update)."""


class StorageUnavailable(StorageError):
    """The store cannot be reached right now; the caller may spool and retry later."""


class Storage(Protocol):
    """A flat key/value store of bytes with '/'-separated keys and compare-and-swap writes."""

    def put(self, key: str, data: bytes, content_type: str = DEFAULT_CONTENT_TYPE) -> str: ...

    def get(self, key: str) -> bytes: ...

    def get_with_tag(self, key: str) -> tuple[bytes, str]: ...

    def list(self, prefix: str = "") -> list[str]: ...

    def put_if(self, key: str, data: bytes, *, match: str | None, content_type: str = DEFAULT_CONTENT_TYPE) -> str:
        """Write only if the key is absent (match=None) or its tag still equals match; else PreconditionFailed."""

    def delete(self, key: str) -> None:
        """Remove the key; deleting a missing key is not an error, as in S3, so retries are harmless."""


FETCHERS = 16  # concurrent GETs for bulk reads: S3's latency, not its bandwidth, is what they wait on
FETCH_CHUNK = 500


def fetch_many(storage: Storage, keys: Iterable[str]) -> Iterator[tuple[str, bytes | None]]:
    """Each key with its object (None if it is gone), in the keys' order, fetched concurrently a chunk at a
    time, so memory holds one chunk however many keys there are (reindex, export)."""

    def get(key: str) -> bytes | None:
        try:
            return storage.get(key)
        except NotFound:
            return None

    remaining = iter(keys)
    with ThreadPoolExecutor(FETCHERS) as pool:
        while chunk := list(islice(remaining, FETCH_CHUNK)):
            yield from zip(chunk, pool.map(get, chunk), strict=True)


def check_key(key: str) -> str:
    """Refuse keys that could escape the root, alias another key, or collide with temp and lock files.

    Segments starting with '.' are reserved: that covers '.' and '..' and keeps the local backend's own
    dot-files out of the key space, so both backends accept exactly the same keys.
    """
    if not isinstance(key, str) or not key:
        raise ValueError("storage key must be a non-empty string")
    if "\\" in key or "\x00" in key:
        raise ValueError(f"storage key may not contain backslashes or NUL: {key!r}")
    if any(segment == "" or segment.startswith(".") for segment in key.split("/")):
        raise ValueError(f"storage key needs non-empty segments not starting with '.': {key!r}")
    return key


def check_prefix(prefix: str) -> str:
    """A prefix is a key, or a key with a trailing '/', or a partial last segment, or empty (everything)."""
    body = prefix[:-1] if prefix.endswith("/") else prefix
    if body:
        check_key(body)
    return prefix


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LocalStorage:
    """Files under one root folder; the tag is the SHA-256 of the content.

    A content hash needs no extra metadata file, and equal content means equal tag, which is exactly what a
    read-modify-write needs: if the bytes it read are still there, its update is still valid.
    Unlike S3, one key cannot also be the folder of others ("a" and "a/b"); the app's keys never nest that way.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def put(self, key: str, data: bytes, content_type: str = DEFAULT_CONTENT_TYPE) -> str:
        # A new key is created without a lock (`_create`): a new sample never waits for a writer of other keys,
        # such as a learner stopped in the middle of a write to a key of the same lock stripe. Replacing is
        # locked, so that a plain put cannot slip between a conditional put's check and its write.
        path = self._path(key)
        with contextlib.suppress(FileExistsError):
            return self._create(path, data)
        with self._lock(key):
            return self._write(path, data)

    def get(self, key: str) -> bytes:
        return self.get_with_tag(key)[0]

    def get_with_tag(self, key: str) -> tuple[bytes, str]:
        data = self._read(self._path(key))
        if data is None:
            raise NotFound(key)
        return data, _sha256(data)

    def list(self, prefix: str = "") -> list[str]:
        check_prefix(prefix)
        start = self.root / prefix.rpartition("/")[0]
        keys = [key for key in self._walk(start) if key.startswith(prefix)]
        return sorted(keys)

    def put_if(self, key: str, data: bytes, *, match: str | None, content_type: str = DEFAULT_CONTENT_TYPE) -> str:
        path = self._path(key)
        if match is None:
            try:
                return self._create(path, data)
            except FileExistsError:
                raise PreconditionFailed(f"{key} already exists") from None
        with self._lock(key):
            current = self._read(path)
            if current is None or _sha256(current) != match:
                raise PreconditionFailed(f"{key} changed since tag {match}")
            return self._write(path, data)

    def delete(self, key: str) -> None:
        path = self._path(key)
        with self._lock(key), contextlib.suppress(FileNotFoundError):
            path.unlink()
        self._prune(path.parent)

    def _prune(self, folder: Path) -> None:
        """Remove the folders a deletion left empty, up to the root: every pruned version would leave one."""
        while folder != self.root and folder.is_relative_to(self.root):
            try:
                folder.rmdir()
            except OSError:  # not empty (or already gone): nothing above it is empty either
                return
            folder = folder.parent

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def lock_file(self, key: str) -> Path:
        """The file whose flock serialises the writers that replace `key` (and the other keys of its stripe)."""
        stripe = int(_sha256(key.encode())[:8], 16) % _LOCK_STRIPES
        return self.root / _LOCK_DIR / f"{stripe:03d}.lock"

    @contextlib.contextmanager
    def _lock(self, key: str) -> Iterator[None]:
        """Serialise writers of one key across threads and processes (flock on a striped lock file)."""
        lock_file = self.lock_file(key)
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            with filelock.FileLock(lock_file, timeout=_LOCK_TIMEOUT_S):
                yield
        except filelock.Timeout as err:
            raise StorageUnavailable(f"lock for {key!r} held longer than {_LOCK_TIMEOUT_S}s") from err

    @staticmethod
    def _read(path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    @staticmethod
    def _staged(path: Path, data: bytes) -> str:
        """`data` written and fsynced to a temporary file beside `path` (its name), not yet visible as the key."""
        for attempt in range(_MKDIR_ATTEMPTS):
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
                break
            except FileNotFoundError:  # a deletion pruned the folder between mkdir and here: make it again
                if attempt == _MKDIR_ATTEMPTS - 1:
                    raise
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            os.unlink(tmp)
            raise
        return tmp

    @classmethod
    def _write(cls, path: Path, data: bytes) -> str:
        """Write beside the target, fsync, then rename, so readers see the old or the new file, never half."""
        tmp = cls._staged(path, data)
        try:
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(path.parent)
        return _sha256(data)

    @classmethod
    def _create(cls, path: Path, data: bytes) -> str:
        """`_write` for a key that must not exist yet: the hard link appears whole or fails with FileExistsError,
        atomically, so creating needs no lock."""
        tmp = cls._staged(path, data)
        try:
            os.link(tmp, path)
        finally:
            os.unlink(tmp)
        _fsync_dir(path.parent)
        return _sha256(data)

    def _walk(self, start: Path) -> Iterator[str]:
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames[:] = [name for name in dirnames if not name.startswith(".")]
            rel = Path(dirpath).relative_to(self.root).as_posix()
            for name in filenames:
                if not name.startswith("."):
                    yield name if rel == "." else f"{rel}/{name}"


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable; without it a crash can forget a file that was reported written."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
