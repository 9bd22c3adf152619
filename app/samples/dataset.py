"""Browsing the crowd dataset: filters and pages over sample metadata, lookup by id, deletion.

Who sees what: a sample's drawing is public (listed, its PNG and strokes served) only when its
author ticked "keep my drawing in the public dataset" (`consent`); with the admin token every
sample is visible. Aggregate figures (app/samples/stats.py) count every sample.

Deleting is a tombstone plus removal: the JSON stays with `deleted: true`, `deleted_at` and its
strokes dropped, so the record of what the nets answered and learned (a learned sample is part of
the current weights, which a deletion cannot undo) and the per-version history stay auditable; the
PNG is removed, because a deletion is asked for to make a drawing go away (a withdrawn consent, a
scribble that is not a digit, something offensive). Deleted samples are never listed, served,
exported (app/offline/export.py) or counted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from app.samples.stats import misread, shown
from app.samples.storage import NotFound, PreconditionFailed
from app.samples.store import PREFIX, SampleStore, is_live, sample_key

PER_PAGE = 24
SAMPLE_ID = re.compile(r"\d{8}T\d{12}Z-[0-9a-f]{8}")  # app.samples.store.new_id
_DELETE_ATTEMPTS = 5

Meta = Mapping[str, Any]


def valid_id(sample_id: str) -> bool:
    """Ids are checked before they come near a storage key."""
    return bool(SAMPLE_ID.fullmatch(sample_id))  # all of it: `$` would let a trailing newline in



def item(meta: Meta) -> dict[str, Any]:
    """One grid cell: enough to draw the thumbnail and its caption."""
    return {
        "id": meta["id"],
        "label": meta["label"],
        "predicted": meta.get("predicted"),
        "answer": meta.get("answer"),
        "shown": shown(meta),
        "misread": misread(meta),
        "source": meta.get("source"),
        "status": meta.get("status"),
        "consent": bool(meta.get("consent")),
        "created": meta["created"],
        "thumbnail": f"/api/samples/{meta['id']}.png",
        "url": f"/dataset/{meta['id']}",
    }


def detail(meta: Meta) -> dict[str, Any]:
    """The sample's metadata as served: everything but the client and person hashes (which would let
    anyone link one person's drawings), plus the derived fields the grid shows."""
    return {**{k: v for k, v in meta.items() if k not in ("client", "person")}, **item(meta)}




def _keys(sample_id: str) -> list[str]:
    """Where the sample's JSON may be: its day is in its id, its label is one of ten."""
    day = f"{sample_id[:4]}-{sample_id[4:6]}-{sample_id[6:8]}"
    return [f"{PREFIX}{label}/{day}/{sample_id}.json" for label in range(10)]


def find(store: SampleStore, sample_id: str) -> tuple[dict[str, Any], str] | None:
    """The sample's metadata and storage tag (deleted ones too), or None."""
    if not valid_id(sample_id):
        return None
    for key in _keys(sample_id):
        try:
            data, tag = store.storage.get_with_tag(key)
        except NotFound:
            continue
        return json.loads(data), tag
    return None


def delete(store: SampleStore, sample_id: str, now: datetime | None = None) -> dict[str, Any] | None:
    """Tombstone the JSON, then remove the PNG; None when no such sample. Idempotent: deleting again
    removes the PNG again (in case the first attempt stopped between the two writes).

    The JSON is replaced by compare-and-swap, so a concurrent rewrite (learning's status update)
    is re-read and kept rather than overwritten.
    """
    for _ in range(_DELETE_ATTEMPTS):
        found = find(store, sample_id)
        if found is None:
            return None
        meta, tag = found
        if is_live(meta):
            stamp = (now or datetime.now(UTC)).isoformat(timespec="milliseconds")
            tombstone = {**meta, "deleted": True, "deleted_at": stamp, "strokes": None}
            body = json.dumps(tombstone, separators=(",", ":")).encode()
            try:
                store.storage.put_if(sample_key(meta, "json"), body, match=tag, content_type="application/json")
            except PreconditionFailed:
                continue
            meta = tombstone
        store.storage.delete(sample_key(meta, "png"))
        return meta
    raise PreconditionFailed(f"sample {sample_id} kept changing while it was being deleted")
