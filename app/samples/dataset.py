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
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from app.samples.stats import live, misread, shown
from app.samples.storage import NotFound, PreconditionFailed
from app.samples.store import PREFIX, SampleStore, is_live, is_public, sample_key

PER_PAGE = 24
SAMPLE_ID = re.compile(r"\d{8}T\d{12}Z-[0-9a-f]{8}")  # app.samples.store.new_id
_DELETE_ATTEMPTS = 5

Meta = Mapping[str, Any]


def valid_id(sample_id: str) -> bool:
    """Ids are checked before they come near a storage key."""
    return bool(SAMPLE_ID.fullmatch(sample_id))  # all of it: `$` would let a trailing newline in



def select(metas: Iterable[Meta], *, label: int | None = None, was_misread: bool | None = None,
           source: str | None = None, everyone: bool = False) -> list[Meta]:
    """Matching samples, newest first; `everyone` (admin) includes samples without consent."""
    found = [meta for meta in live(metas)
             if (everyone or is_public(meta))
             and (label is None or meta["label"] == label)
             and (was_misread is None or misread(meta) == was_misread)
             and (source is None or meta.get("source") == source)]
    return found[::-1]


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


def paginate(found: list[Meta], page: int, per_page: int = PER_PAGE) -> dict[str, Any]:
    """One page of `found` (pages count from 1; a page past the end is empty, not an error)."""
    start = (page - 1) * per_page
    return {
        "items": [item(meta) for meta in found[start:start + per_page]],
        "page": page,
        "per_page": per_page,
        "pages": math.ceil(len(found) / per_page),
        "total": len(found),
    }


def detail(meta: Meta) -> dict[str, Any]:
    """The sample's metadata as served: everything but the client and person hashes (which would let
    anyone link one person's drawings), plus the derived fields the grid shows."""
    return {**{k: v for k, v in meta.items() if k not in ("client", "person")}, **item(meta)}


def read_all(store: SampleStore, label: int | None = None) -> list[dict[str, Any]]:
    """Every complete sample's metadata (one label's only, when given), as a list for the request's cache."""
    return list(store.all(label))


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
