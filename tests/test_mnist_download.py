"""The training data path: download from a mirror when missing, verify, never keep a bad file."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator

import pytest

from app.offline import mnist


@pytest.fixture()
def mirror(tmp_path, mnist_dir) -> Iterator[tuple[str, object]]:
    served = tmp_path / "mirror"
    shutil.copytree(mnist_dir, served)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", served
    server.shutdown()


def test_missing_files_are_downloaded_and_verified(tmp_path, mirror):
    url, _ = mirror
    data = mnist.load(tmp_path / "data", mirror=url)
    assert data.x_train.shape == (60000, 28, 28) and data.x_test.shape == (10000, 28, 28)
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == sorted(f"{n}.gz" for n in mnist.SHA256)


def test_a_corrupted_download_is_refused_and_not_kept(tmp_path, mirror):
    url, served = mirror
    import gzip

    (served / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\0\0\x08\x01" + b"\0" * 20))
    with pytest.raises(mnist.ChecksumError):
        mnist.ensure(tmp_path / "data", mirror=url)
    assert not (tmp_path / "data" / "t10k-labels-idx1-ubyte.gz").exists()
    assert not list((tmp_path / "data").glob("*.part"))
