"""Versions of the online nets in storage, advanced by compare-and-swap on one manifest.

`models/online/<version>-<nonce>/fnn.npz|cnn.npz` hold each accepted update's weights; they are written
before the manifest points at them, so a crash mid-write never leaves a half-written current
version. `models/online/manifest.json` says which version is current; every change to it is a
conditional put, so two workers can never both advance from the same version (no lost update).
Version 0 is the shipped weights.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.reading.ensemble import SHIPPED
from app.samples.storage import NotFound, PreconditionFailed, Storage

PREFIX = "models/online/"
MANIFEST = PREFIX + "manifest.json"
BASELINE = 0


def public_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A version's record as anyone may see it: never its storage folder, and its sample's id only when the
    drawing was shared (consent), since the id of a private drawing would tell that it is there.

    Records written before consent was recorded in them count as private.
    """
    shown = {key: value for key, value in record.items() if key not in ("folder", "public")}
    if not record.get("public"):
        shown["sample_id"] = None
    return shown


class Conflict(Exception):
    """Another worker advanced the manifest first: reload and try again."""


@dataclass
class Manifest:
    current: int
    latest: int  # highest version ever created; new versions count on from here, even after a rollback
    versions: list[dict[str, Any]]  # kept versions' records, oldest first
    tag: str | None  # storage tag of the manifest as read; None when none exists yet

    def record(self, version: int) -> dict[str, Any] | None:
        return next((v for v in self.versions if v["version"] == version), None)


def _weights_key(folder: str, name: str) -> str:
    return f"{PREFIX}{folder}/{name}.npz"


class VersionStore:
    def __init__(self, storage: Storage, keep: int) -> None:
        self.storage = storage
        self.keep = keep

    def read(self) -> Manifest:
        try:
            data, tag = self.storage.get_with_tag(MANIFEST)
        except NotFound:
            return Manifest(BASELINE, BASELINE, [], None)
        body = json.loads(data)
        return Manifest(body["current"], body["latest"], body["versions"], tag)

    def weights(self, manifest: Manifest, version: int) -> dict[str, bytes]:
        record = manifest.record(version)
        if record is None:
            raise KeyError(version)
        return {name: self.storage.get(_weights_key(record["folder"], name)) for name in SHIPPED}

    def _swap(self, old: Manifest, new: Manifest) -> Manifest:
        body = json.dumps({"current": new.current, "latest": new.latest, "versions": new.versions}).encode()
        try:
            new.tag = self.storage.put_if(MANIFEST, body, match=old.tag, content_type="application/json")
        except PreconditionFailed:
            raise Conflict from None
        return new

    def publish(self, old: Manifest, weights: dict[str, bytes], record: dict[str, Any]) -> Manifest:
        """Write a new version's weights, then point the manifest at it (fails with Conflict if stale)."""
        version = old.latest + 1
        # a folder of its own per attempt: a worker that loses the race never overwrites the winner's files
        folder = f"{version:08d}-{secrets.token_hex(4)}"
        for name, data in weights.items():
            self.storage.put(_weights_key(folder, name), data)
        record = {"version": version, "parent": old.current, "folder": folder, **record}
        kept = [*old.versions, record][-self.keep:]
        try:
            new = self._swap(old, Manifest(version, version, kept, None))
        except Conflict:
            self._delete(folder)
            raise
        for dropped in old.versions[: max(0, len(old.versions) + 1 - self.keep)]:
            self._delete(dropped["folder"])
        return new

    def _delete(self, folder: str) -> None:
        for name in SHIPPED:
            self.storage.delete(_weights_key(folder, name))

    def point_to(self, old: Manifest, version: int) -> Manifest:
        """Make a kept version (or the baseline) current again."""
        if version != BASELINE and old.record(version) is None:
            raise KeyError(version)
        return self._swap(old, Manifest(version, old.latest, old.versions, None))
