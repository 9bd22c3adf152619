"""MNIST from its four IDX files: read from a folder, or downloaded once and verified.

The gzip wrappers differ between mirrors while the IDX content does not, so the checksums are of
the decompressed bytes (as in ../shared/mnist/SHA256SUMS.idx).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import shutil
import struct
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

MIRROR = os.environ.get("DIGITDRAW_MNIST_MIRROR", "https://storage.googleapis.com/cvdf-datasets/mnist/")
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


class ChecksumError(RuntimeError):
    """A file's content is not the MNIST we know: refuse to train or measure on it."""


@dataclass(frozen=True)
class Mnist:
    x_train: np.ndarray  # uint8 (60000, 28, 28)
    y_train: np.ndarray  # int64 (60000,)
    x_test: np.ndarray
    y_test: np.ndarray
    checksums: dict[str, str]


def _read_verified(path: Path, name: str) -> bytes:
    content = gzip.decompress(path.read_bytes())
    digest = hashlib.sha256(content).hexdigest()
    if digest != SHA256[name]:
        raise ChecksumError(f"{path}: SHA-256 of the IDX content is {digest}, expected {SHA256[name]}")
    return content


def _download(url: str, target: Path, name: str) -> None:
    """Fetch to a temporary file, verify, then rename: a bad or partial download never lands."""
    log.info("downloading MNIST file", extra={"url": url})
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=".part") as part:
        try:
            with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (https or a test's loopback)
                shutil.copyfileobj(response, part)
            part.close()
            _read_verified(Path(part.name), name)
            os.replace(part.name, target)
        finally:
            Path(part.name).unlink(missing_ok=True)


def ensure(folder: Path, mirror: str = MIRROR) -> dict[str, Path]:
    """The four files in `folder`, downloading any that are missing."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in SHA256:
        path = folder / f"{name}.gz"
        if not path.exists():
            _download(mirror.rstrip("/") + f"/{name}.gz", path, name)
        paths[name] = path
    return paths


def _parse_idx(content: bytes) -> np.ndarray:
    _, dtype_code, ndim = struct.unpack(">HBB", content[:4])
    if dtype_code != 0x08:
        raise ValueError("only unsigned-byte IDX files are expected in MNIST")
    shape = struct.unpack(f">{ndim}I", content[4:4 + 4 * ndim])
    return np.frombuffer(content, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load(folder: Path, mirror: str = MIRROR) -> Mnist:
    paths = ensure(folder, mirror)
    arrays = {name: _parse_idx(_read_verified(path, name)) for name, path in paths.items()}
    return Mnist(
        x_train=arrays["train-images-idx3-ubyte"],
        y_train=arrays["train-labels-idx1-ubyte"].astype(np.int64),
        x_test=arrays["t10k-images-idx3-ubyte"],
        y_test=arrays["t10k-labels-idx1-ubyte"].astype(np.int64),
        checksums=dict(SHA256),
    )


if __name__ == "__main__":  # python -m app.offline.mnist [FOLDER]: fetch and verify, e.g. at build time
    import sys

    logging.basicConfig(level=logging.INFO)
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "data/mnist")
    print(f"MNIST ready in {target}: {sorted(p.name for p in ensure(target).values())}")
