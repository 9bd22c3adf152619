"""Versions of the online nets in storage, advanced by compare-and-swap on one manifest.

A version is written as its *step* from its parent (`models/online/<version>-<nonce>/step.npz`: the
int8 directions and coefficients of app.online.steps, about 0.12 MB) or, every `snapshot_every`
versions along a line of descent, as a *snapshot* of every weight (`fnn.npz`, `cnn.npz`: 4.2 MB). A
version's weights are its nearest snapshot (or the shipped weights, version 0) with the steps after
it applied in order, which every process computes bit for bit alike, so rollback to any kept version
is exact and a worker one version behind loads only the new step. Files are written before the
manifest points at them, so a crash mid-write never leaves a half-written current version.
`models/online/manifest.json` says which version is current; every change to it is a conditional put,
so two writers can never both advance from the same version (no lost update).

The manifest keeps the newest `keep` versions and every older one their weights are built from (at
most `snapshot_every` − 1 more); the files of the rest are deleted.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from app.online import steps
from app.online.steps import Step
from app.reading.ensemble import SHIPPED
from app.samples.storage import NotFound, PreconditionFailed, Storage

PREFIX = "models/online/"
MANIFEST = PREFIX + "manifest.json"
BASELINE = 0
STEP_FILE = "step.npz"  # the name of its first format, kept so older versions load: the bytes are app.online.steps'
SNAPSHOT, STEP = "snapshot", "step"


class Net(Protocol):
    """What a version needs of a net: its whole weights as bytes, and the weights that steps move."""

    def load_bytes(self, data: bytes) -> None: ...

    def online_weights(self) -> list[np.ndarray]: ...

    def set_online_weights(self, weights: list[np.ndarray]) -> None: ...

    def set_weights(self, weights: list[np.ndarray]) -> None: ...

    def get_weights(self) -> list[np.ndarray]: ...


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
    """Another writer advanced the manifest first: reload and try again."""


@dataclass
class Manifest:
    current: int
    latest: int  # highest version ever created; new versions count on from here, even after a rollback
    versions: list[dict[str, Any]]  # kept versions' records, oldest first
    tag: str | None  # storage tag of the manifest as read; None when none exists yet

    def record(self, version: int) -> dict[str, Any] | None:
        return next((v for v in self.versions if v["version"] == version), None)

    def lineage(self, version: int) -> list[dict[str, Any]]:
        """The records `version`'s weights are built from, oldest first: a snapshot (or the first step after
        the shipped weights), then each step down to `version` itself. Empty for the baseline."""
        found: list[dict[str, Any]] = []
        while version != BASELINE:
            record = self.record(version)
            if record is None:
                raise KeyError(version)
            found.append(record)
            if record.get("kind", SNAPSHOT) == SNAPSHOT:
                break
            version = record["parent"]
        return found[::-1]


@dataclass(frozen=True)
class Draft:
    """A version computed but not yet in storage: the manifest that will point at it, its files by key, and the
    older records it drops."""

    manifest: Manifest
    files: dict[str, bytes]
    dropped: list[dict[str, Any]]

    @property
    def record(self) -> dict[str, Any]:
        """The new version's record: the newest the manifest keeps, so always its last."""
        return self.manifest.versions[-1]


def _key(folder: str, name: str) -> str:
    return f"{PREFIX}{folder}/{name}"


class VersionStore:
    def __init__(self, storage: Storage, keep: int, snapshot_every: int = 16) -> None:
        self.storage = storage
        self.keep = keep
        self.snapshot_every = snapshot_every

    def read(self) -> Manifest:
        try:
            data, tag = self.storage.get_with_tag(MANIFEST)
        except NotFound:
            return Manifest(BASELINE, BASELINE, [], None)
        body = json.loads(data)
        return Manifest(body["current"], body["latest"], body["versions"], tag)

    def bring(self, nets: Mapping[str, Net], shipped: Mapping[str, Net], held: int, manifest: Manifest,
              version: int) -> None:
        """Give `nets` (keyed "fnn", "cnn"; now holding version `held`) the weights of `version`: only the
        steps after `held` when `held` is on its lineage, else its snapshot or the shipped weights and the
        steps after that. Everything is read before anything changes, so a storage failure leaves `nets`
        as they were."""
        lineage = manifest.lineage(version)
        held_at = next((i for i, r in enumerate(lineage) if r["version"] == held), None)
        start: dict[str, bytes] | None = None
        if held_at is not None:
            lineage = lineage[held_at + 1:]
        elif lineage and lineage[0].get("kind", SNAPSHOT) == SNAPSHOT:
            first = lineage.pop(0)
            start = {name: self.storage.get(_key(first["folder"], f"{name}.npz")) for name in nets}
        moves = [self._steps(record) for record in lineage]
        for name, net in nets.items():
            if start is not None:
                net.load_bytes(start[name])
            elif held_at is None:
                net.set_weights(shipped[name].get_weights())
            for move in moves:
                if name in move:
                    net.set_online_weights(move[name].apply(net.online_weights()))

    def _steps(self, record: Mapping[str, Any]) -> dict[str, Step]:
        return steps.from_bytes(self.storage.get(_key(record["folder"], STEP_FILE)))

    def _swap(self, match: str | None, new: Manifest) -> Manifest:
        """Point the manifest at `new` if it still has the tag `match` (None: if there is none yet)."""
        body = json.dumps({"current": new.current, "latest": new.latest, "versions": new.versions}).encode()
        try:
            tag = self.storage.put_if(MANIFEST, body, match=match, content_type="application/json")
        except PreconditionFailed:
            raise Conflict from None
        return Manifest(new.current, new.latest, new.versions, tag)

    def draft(self, old: Manifest, taken: Mapping[str, Step], whole: Callable[[], dict[str, bytes]],
              record: dict[str, Any]) -> Draft:
        """A new version, the current one moved by `taken` (nets without one keep their weights), ready to be
        written: nothing touches storage yet, so the learner can step on from it while `write` runs. `whole()`
        gives every net's weights as bytes, asked for only when this version is due to be a snapshot."""
        version = old.latest + 1
        parent = old.record(old.current)
        depth = 1 if parent is None else parent.get("depth", 0) + 1  # steps since the last snapshot
        # a folder of its own per attempt: a writer that loses the race never overwrites the winner's files
        folder = f"{version:08d}-{secrets.token_hex(4)}"
        if depth >= self.snapshot_every:
            kind, depth = SNAPSHOT, 0
            files = {_key(folder, f"{name}.npz"): data for name, data in whole().items()}
        else:
            kind = STEP
            files = {_key(folder, STEP_FILE): steps.to_bytes(taken)}
        record = {"version": version, "parent": old.current, "folder": folder, "kind": kind, "depth": depth,
                  **record}
        kept = self._kept([*old.versions, record])
        dropped = [r for r in old.versions if r not in kept]
        return Draft(Manifest(version, version, kept, None), files, dropped)

    def write(self, draft: Draft, match: str | None) -> Manifest:
        """Write a draft's files, then point the manifest at it if the manifest still has the tag `match` (else
        Conflict, and its files are removed); then delete the files of the versions it no longer keeps."""
        for key, data in draft.files.items():
            self.storage.put(key, data)
        try:
            new = self._swap(match, draft.manifest)
        except Conflict:
            self._delete(draft.record)
            raise
        for dropped in draft.dropped:
            self._delete(dropped)
        return new

    def _kept(self, versions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The newest `keep` versions and every one their weights are built from, oldest first."""
        whole = Manifest(BASELINE, BASELINE, versions, None)
        needed = {r["version"] for newest in versions[-self.keep:] for r in whole.lineage(newest["version"])}
        return [r for r in versions if r["version"] in needed]

    def _delete(self, record: Mapping[str, Any]) -> None:
        names = [STEP_FILE] if record.get("kind", SNAPSHOT) == STEP else [f"{name}.npz" for name in SHIPPED]
        for name in names:
            self.storage.delete(_key(record["folder"], name))

    def point_to(self, old: Manifest, version: int) -> Manifest:
        """Make a kept version (or the baseline) current again."""
        if version != BASELINE and old.record(version) is None:
            raise KeyError(version)
        return self._swap(old.tag, Manifest(version, old.latest, old.versions, None))
