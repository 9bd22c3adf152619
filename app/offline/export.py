"""Stored samples → a training-ready dataset (NumPy, MNIST IDX, or JSON lines with everything).

Only samples whose author consented are exported, and quarantined ones (refused by the learning
guard, so possibly mislabelled) are left out of the arrays; JSONL keeps them, with their status,
for curators.

Which samples: the index says (streamed in id order, no listing of storage); what they hold: storage,
fetched concurrently a chunk at a time. The 28×28 images go to a memory-mapped file as they come, so a
process's memory stays flat however large the dataset is.
"""

from __future__ import annotations

import gzip
import json
import shutil
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np

from app.reading.imaging import ink_map, normalise, open_image
from app.samples.index import SampleIndex
from app.samples.storage import Storage, fetch_many
from app.samples.store import QUARANTINED

FORMATS = ("npz", "idx", "jsonl")
DIGIT_BYTES = 28 * 28


def _public(index: SampleIndex, arrays_only: bool) -> Iterator[dict]:
    """The index rows of consented live samples (without quarantined ones for the arrays)."""
    for row in index.rows():
        if row["consent"] and not (arrays_only and row["status"] == QUARANTINED):
            yield row


def _digits(storage: Storage, index: SampleIndex, images: IO[bytes]) -> list[int]:
    """Write each usable sample's 28×28 (uint8, ink = 255 as in MNIST) to `images`; returns their labels."""
    rows = {row["png_key"]: row["label"] for row in _public(index, arrays_only=True)}
    labels = []
    for key, png in fetch_many(storage, rows):
        if png is None:  # deleted since the index was read
            continue
        digit = normalise(ink_map(open_image(png)))
        images.write(np.round(digit * 255).astype(np.uint8).tobytes())
        labels.append(rows[key])
    return labels


def _idx(shape: tuple[int, ...]) -> bytes:
    """An IDX header (MNIST's format) for unsigned bytes of this shape."""
    return struct.pack(">HBB", 0, 0x08, len(shape)) + struct.pack(f">{len(shape)}I", *shape)


def export(storage: Storage, index: SampleIndex, fmt: str, out: Path) -> int:
    """Write the dataset into `out`; returns how many samples it holds."""
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        count = 0
        with open(out / "samples.jsonl", "wb") as handle:
            keys = {row["json_key"]: row["png_key"] for row in _public(index, arrays_only=False)}
            for key, data in fetch_many(storage, keys):
                if data is not None:
                    handle.write(json.dumps({**json.loads(data), "image_key": keys[key]}).encode() + b"\n")
                    count += 1
        return count
    with tempfile.NamedTemporaryFile(dir=out, prefix=".images-") as images:
        labels = _digits(storage, index, images)
        images.flush()
        shape = (len(labels), 28, 28)
        if fmt == "npz":
            pixels = np.memmap(images.name, np.uint8, "r", shape=shape) if labels else np.zeros(shape, np.uint8)
            np.savez_compressed(out / "samples.npz", x=pixels, y=np.array(labels, dtype=np.uint8))
        else:
            images.seek(0)
            with gzip.open(out / "samples-images-idx3-ubyte.gz", "wb") as packed:
                packed.write(_idx(shape))
                shutil.copyfileobj(images, packed)
            (out / "samples-labels-idx1-ubyte.gz").write_bytes(
                gzip.compress(_idx((len(labels),)) + bytes(labels)))
    return len(labels)


def load_extra(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """An exported npz as float images in [0, 1] and int labels, for `train --extra`."""
    with np.load(folder / "samples.npz") as data:
        return data["x"].astype(np.float32) / 255.0, data["y"].astype(np.int64)
