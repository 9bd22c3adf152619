"""Versions are written in the order drafted, and nothing drafted on top of a failed write is ever written."""

from __future__ import annotations

import pytest

from app.online.publisher import Publisher, Superseded
from app.online.versions import Conflict, VersionStore
from app.samples.storage import LocalStorage


def test_drafts_are_written_in_order_each_on_the_manifest_the_last_one_left(tmp_path):
    versions = VersionStore(LocalStorage(tmp_path), keep=10)
    told = []
    publisher = Publisher(versions, told.append)
    head = versions.read()
    publisher.restart(head)
    written = []
    for sample in "abc":
        draft = versions.draft(head, {}, dict, {"sample_id": sample})
        written.append(publisher.submit(draft))
        head = draft.manifest
    assert [future.result().current for future in written] == [1, 2, 3]
    assert [manifest.current for manifest in told] == [1, 2, 3]  # told in order, on the publisher thread
    stored = versions.read()
    assert stored.current == 3 and [v["sample_id"] for v in stored.versions] == ["a", "b", "c"]


def test_after_a_failed_write_the_drafts_on_top_of_it_are_refused_until_a_restart(tmp_path):
    storage = LocalStorage(tmp_path)
    versions = VersionStore(storage, keep=10)
    told = []
    publisher = Publisher(versions, told.append)
    start = versions.read()
    publisher.restart(start)
    versions.write(versions.draft(start, {}, dict, {"sample_id": "elsewhere"}), start.tag)  # e.g. a rollback

    first = versions.draft(start, {}, dict, {"sample_id": "a"})
    second = versions.draft(first.manifest, {}, dict, {"sample_id": "b"})
    failed, refused = publisher.submit(first), publisher.submit(second)
    with pytest.raises(Conflict):
        failed.result()
    with pytest.raises(Superseded):
        refused.result()
    assert [v["sample_id"] for v in versions.read().versions] == ["elsewhere"] and told == []
    folders = {key.split("/")[2] for key in storage.list("models/online/") if key.count("/") == 3}
    assert folders == {versions.read().versions[0]["folder"]}  # neither draft left a file behind

    publisher.drain()
    now = versions.read()
    publisher.restart(now)
    assert publisher.last is None  # what is decided next depends on no write that failed before the restart
    assert publisher.submit(versions.draft(now, {}, dict, {"sample_id": "a"})).result().current == 2
