"""The crowd dataset: every labelled drawing as it arrived, with what the models said at the time.

Layout (either backend): `samples/<label>/<YYYY-MM-DD>/<id>.png` and `<id>.json`. The PNG is written
first and the JSON last, so a sample whose JSON exists is complete; the JSON is rewritten once more
when learning has decided what to do with it (`status`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from app.storage import NotFound, Storage

PREFIX = "samples/"
SOURCES = ("correction", "confirmation", "collection")


def new_id(now: datetime) -> str:
    """Sortable by time, unique across workers without coordination."""
    return now.strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(4)


def sample_key(meta: dict[str, Any], extension: str) -> str:
    return f"{PREFIX}{meta['label']}/{meta['created'][:10]}/{meta['id']}.{extension}"


class SampleStore:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def add(self, png: bytes, meta: dict[str, Any]) -> dict[str, Any]:
        """Store the drawing durably; returns the metadata with its id and time filled in."""
        now = datetime.now(UTC)
        meta = {"id": new_id(now), "created": now.isoformat(timespec="milliseconds"), **meta}
        self.storage.put(sample_key(meta, "png"), png, "image/png")
        self.write_meta(meta)
        return meta

    def write_meta(self, meta: dict[str, Any]) -> None:
        body = json.dumps(meta, separators=(",", ":")).encode()
        self.storage.put(sample_key(meta, "json"), body, "application/json")

    def png(self, meta: dict[str, Any]) -> bytes:
        return self.storage.get(sample_key(meta, "png"))

    def all(self) -> Iterator[dict[str, Any]]:
        """Every complete sample's metadata, oldest first."""
        keys = [k for k in self.storage.list(PREFIX) if k.endswith(".json")]
        keys.sort(key=lambda k: k.rsplit("/", 1)[-1])
        for key in keys:
            try:
                yield json.loads(self.storage.get(key))
            except NotFound:  # deleted meanwhile
                continue
