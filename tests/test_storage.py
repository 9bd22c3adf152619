"""One contract, run against both backends, so the app can swap local disk for S3 without surprises."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config import Settings
from app.samples.backends import storage_from_settings
from app.samples.s3 import S3Storage
from app.samples.storage import (
    LocalStorage,
    NotFound,
    PreconditionFailed,
    Storage,
    StorageError,
    StorageUnavailable,
    check_key,
)
from tests.s3server import BUCKET, free_port, moto_client

BINARY = bytes(range(256)) * 3 + b"\x00\xff\r\n"


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalStorage(tmp_path / "store")
    return S3Storage(BUCKET, request.getfixturevalue("s3_prefix"), request.getfixturevalue("s3_client"))


def increment(storage: Storage, key: str) -> None:
    """Read-modify-write with compare-and-swap: the pattern every shared counter or state file uses."""
    while True:
        try:
            data, tag = storage.get_with_tag(key)
        except NotFound:
            data, tag = b"0", None
        try:
            storage.put_if(key, str(int(data) + 1).encode(), match=tag)
            return
        except PreconditionFailed:
            continue


def _increment_in_process(root: str, key: str, times: int) -> None:
    local = LocalStorage(Path(root))
    for _ in range(times):
        increment(local, key)


# --- round trips -----------------------------------------------------------------------------------------------


def test_put_get_round_trip_binary(storage: Storage) -> None:
    tag = storage.put("samples/3/a.bin", BINARY, content_type="image/png")
    assert storage.get("samples/3/a.bin") == BINARY
    assert storage.get_with_tag("samples/3/a.bin") == (BINARY, tag)


def test_empty_object(storage: Storage) -> None:
    storage.put("empty", b"")
    assert storage.get("empty") == b""


def test_overwrite_replaces_content_and_tag(storage: Storage) -> None:
    first = storage.put("state.json", b"one")
    second = storage.put("state.json", b"two")
    assert storage.get("state.json") == b"two"
    assert first != second


def test_get_missing_raises_not_found(storage: Storage) -> None:
    with pytest.raises(NotFound):
        storage.get("missing/key")
    with pytest.raises(NotFound):
        storage.get_with_tag("missing")


def test_delete(storage: Storage) -> None:
    storage.put("a/b", b"x")
    storage.delete("a/b")
    with pytest.raises(NotFound):
        storage.get("a/b")
    assert storage.list("") == []
    storage.delete("a/b")  # deleting twice is harmless, so a retried delete cannot fail


def test_a_local_delete_leaves_no_empty_folder_behind(tmp_path) -> None:
    storage = LocalStorage(tmp_path / "root")
    storage.put("models/online/00000001-ab/fnn.npz", b"x")
    storage.put("models/online/00000001-ab/cnn.npz", b"y")
    storage.put("models/online/manifest.json", b"{}")
    storage.delete("models/online/00000001-ab/fnn.npz")
    assert (tmp_path / "root" / "models" / "online" / "00000001-ab").is_dir()  # cnn.npz is still there
    storage.delete("models/online/00000001-ab/cnn.npz")
    assert sorted(p.name for p in (tmp_path / "root" / "models" / "online").iterdir()) == ["manifest.json"]
    storage.delete("models/online/manifest.json")
    assert (tmp_path / "root").is_dir() and not (tmp_path / "root" / "models").exists()  # the root stays
    storage.put("models/online/00000002-cd/fnn.npz", b"z")  # and pruned folders are made again on demand
    assert storage.get("models/online/00000002-cd/fnn.npz") == b"z"


# --- listing -------------------------------------------------------------------------------------------------------

KEYS = [
    "samples/3/b.png",
    "samples/3/a.png",
    "samples/30/c.png",
    "samples/4/d.png",
    "state/fnn.npz",
    "samplesX",
    "state/ü ß+1.npz",
]


def test_list_by_prefix_nested_sorted(storage: Storage) -> None:
    for key in KEYS:
        storage.put(key, key.encode())
    assert storage.list("") == sorted(KEYS)
    assert storage.list("samples/3/") == ["samples/3/a.png", "samples/3/b.png"]
    assert storage.list("samples/3") == ["samples/3/a.png", "samples/3/b.png", "samples/30/c.png"]
    assert storage.list("samples/") == sorted(k for k in KEYS if k.startswith("samples/"))
    assert storage.list("state") == ["state/fnn.npz", "state/ü ß+1.npz"]
    assert storage.list("nothing/") == []


def test_list_skips_temp_and_lock_files(tmp_path: Path) -> None:
    local = LocalStorage(tmp_path)
    local.put_if("samples/a", b"1", match=None)
    local.put("samples/a", b"2")  # a replacement takes a lock file
    (tmp_path / "samples" / ".a.123.tmp").write_bytes(b"half-written")
    assert (tmp_path / ".locks").is_dir()
    assert local.list("") == ["samples/a"]


def test_s3_prefixes_isolate_tenants(s3_client: Any, s3_prefix: str) -> None:
    mine = S3Storage(BUCKET, s3_prefix, s3_client)
    neighbour = S3Storage(BUCKET, s3_prefix + "-2", s3_client)
    mine.put("k", b"mine")
    neighbour.put("k", b"theirs")
    assert mine.list("") == ["k"]
    assert mine.get("k") == b"mine"


def test_s3_list_paginates(moto_endpoint: str, s3_prefix: str) -> None:
    client = moto_client(moto_endpoint)
    calls: list[str] = []
    client.meta.events.register("before-call.s3.ListObjectsV2", lambda **_: calls.append("page"))
    paged = S3Storage(BUCKET, s3_prefix, client, page_size=2)
    keys = [f"k/{i:02d}" for i in range(7)]
    for key in reversed(keys):
        paged.put(key, b"")
    assert paged.list("k/") == keys
    assert len(calls) == 4


# --- conditional writes -----------------------------------------------------------------------------------------


def test_conditional_create_only_once(storage: Storage) -> None:
    storage.put_if("counter", b"first", match=None)
    with pytest.raises(PreconditionFailed):
        storage.put_if("counter", b"second", match=None)
    assert storage.get("counter") == b"first"


def test_conditional_update_needs_current_tag(storage: Storage) -> None:
    old = storage.put_if("counter", b"1", match=None)
    new = storage.put_if("counter", b"2", match=old)
    assert storage.get_with_tag("counter") == (b"2", new)
    with pytest.raises(PreconditionFailed):
        storage.put_if("counter", b"3", match=old)
    assert storage.get("counter") == b"2"


def test_conditional_update_accepts_tag_from_plain_put(storage: Storage) -> None:
    tag = storage.put("k", b"a")
    storage.put_if("k", b"b", match=tag)
    assert storage.get("k") == b"b"


def test_conditional_update_of_missing_key_fails(storage: Storage) -> None:
    tag = storage.put("k", b"a")
    storage.delete("k")
    with pytest.raises(PreconditionFailed):
        storage.put_if("k", b"b", match=tag)
    with pytest.raises(NotFound):
        storage.get("k")


def test_concurrent_increments_lose_nothing_threads(storage: Storage) -> None:
    threads, times = 4, 8

    def work() -> None:
        for _ in range(times):
            increment(storage, "counter")

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not any(worker.is_alive() for worker in workers)
    assert storage.get("counter") == str(threads * times).encode()


def test_concurrent_increments_lose_nothing_processes(tmp_path: Path) -> None:
    processes, times = 3, 10
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_increment_in_process, args=(str(tmp_path), "counter", times)) for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0] * processes
    assert LocalStorage(tmp_path).get("counter") == str(processes * times).encode()


HOLD_LOCK = """
import fcntl, sys, time
handle = open(sys.argv[1], "w")
fcntl.flock(handle, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(120)
"""


def test_a_new_key_is_written_while_a_stopped_writer_holds_its_lock(tmp_path: Path) -> None:
    """A learner stopped in the middle of a write holds its key's lock stripe: new samples must still be stored."""
    local = LocalStorage(tmp_path)
    key = "samples/3/new.png"
    local.lock_file(key).parent.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(local.lock_file(key))], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        local.put(key, b"drawing")  # would wait 10 s for the lock, then raise StorageUnavailable
        assert local.get(key) == b"drawing"
        local.put_if("samples/3/new.json", b"{}", match=None)
        with pytest.raises(PreconditionFailed):
            local.put_if(key, b"other", match=None)
        assert local.get(key) == b"drawing"
    finally:
        holder.kill()
        holder.wait()
    local.put(key, b"replaced")  # replacing takes the lock, free again
    assert local.get(key) == b"replaced"
    assert local.list() == ["samples/3/new.json", "samples/3/new.png"]  # no temporary file left


# --- keys --------------------------------------------------------------------------------------------------------

BAD_KEYS = ["", "/abs", "a//b", "a/", "..", "a/../b", "../x", "a/./b", "a\\b", ".locks/000.lock", "a/.x.tmp", "a\x00b"]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_invalid_keys_rejected(storage: Storage, key: str) -> None:
    for call in (
        lambda: storage.put(key, b"x"),
        lambda: storage.put_if(key, b"x", match=None),
        lambda: storage.get(key),
        lambda: storage.get_with_tag(key),
        lambda: storage.delete(key),
    ):
        with pytest.raises(ValueError):
            call()


@pytest.mark.parametrize("prefix", ["/abs", "../", "a/../", "a\\", "a//"])
def test_invalid_prefixes_rejected(storage: Storage, prefix: str) -> None:
    with pytest.raises(ValueError):
        storage.list(prefix)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.text(alphabet="ab./\\", max_size=12))
def test_local_keys_stay_inside_root(tmp_path: Path, key: str) -> None:
    """Any key either is refused or lands under the root and lists as itself: no path escapes."""
    root = tmp_path / uuid.uuid4().hex  # fresh per example: "a" and "a/b" cannot both be files on disk
    local = LocalStorage(root)
    try:
        check_key(key)
    except ValueError:
        return
    local.put(key, b"x")
    assert (root / key).resolve().is_relative_to(root.resolve())
    assert key in local.list("")
    local.delete(key)


# --- S3 failure modes ---------------------------------------------------------------------------------------------


def test_s3_unreachable_raises_unavailable_quickly() -> None:
    closed = S3Storage(BUCKET, "", moto_client(f"http://127.0.0.1:{free_port()}"))
    for call in (
        lambda: closed.get("k"),
        lambda: closed.put("k", b"x"),
        lambda: closed.put_if("k", b"x", match=None),
        lambda: closed.list(""),
        lambda: closed.delete("k"),
    ):
        started = time.monotonic()
        with pytest.raises(StorageUnavailable):
            call()
        assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ConditionalRequestConflict", 409, PreconditionFailed),
        ("PreconditionFailed", 412, PreconditionFailed),
        ("SlowDown", 503, StorageUnavailable),
        ("InternalError", 500, StorageUnavailable),
        ("AccessDenied", 403, StorageError),
    ],
)
def test_s3_error_mapping(code: str, status: int, expected: type[Exception]) -> None:
    """Answers moto cannot be made to give (a 409 race, a 5xx) still map onto our errors."""
    client = moto_client("http://127.0.0.1:1")
    storage = S3Storage(BUCKET, "", client)
    with Stubber(client) as stub:
        stub.add_client_error("put_object", service_error_code=code, http_status_code=status)
        with pytest.raises(expected) as caught:
            storage.put_if("k", b"x", match=None)
    assert type(caught.value) is expected


# --- configuration ------------------------------------------------------------------------------------------------


def test_storage_from_settings_defaults_to_local(tmp_path: Path) -> None:
    chosen = storage_from_settings(Settings(data_dir=tmp_path))
    assert isinstance(chosen, LocalStorage)
    assert chosen.root == tmp_path


def test_storage_from_settings_uses_s3_when_bucket_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    chosen = storage_from_settings(Settings(s3_bucket="samples-bucket", s3_prefix="/prod/"))
    assert isinstance(chosen, S3Storage)
    assert (chosen.bucket, chosen.prefix) == ("samples-bucket", "prod/")
    config = chosen.client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (2, 5)
    # three attempts in all (the first try and two retries), so a dead endpoint costs seconds, not minutes
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}
