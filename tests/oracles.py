"""The dataset browser's pages as pure functions over every sample's metadata: what the SQL index must
answer (tests/test_index.py checks it page for page), kept here since the app itself reads the index."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from app.samples.dataset import PER_PAGE, Meta, item
from app.samples.stats import live, misread
from app.samples.store import is_public


def select(metas: Iterable[Meta], *, label: int | None = None, was_misread: bool | None = None,
           source: str | None = None, everyone: bool = False) -> list[Meta]:
    """Matching samples, newest first; `everyone` (admin) includes samples without consent."""
    found = [meta for meta in live(metas)
             if (everyone or is_public(meta))
             and (label is None or meta["label"] == label)
             and (was_misread is None or misread(meta) == was_misread)
             and (source is None or meta.get("source") == source)]
    return found[::-1]



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
