"""Stored samples → a training-ready dataset (NumPy, MNIST IDX, or JSON lines with everything).

Only samples whose author consented are exported, and quarantined ones (refused by the learning
guard, so possibly mislabelled) are left out of the arrays; JSONL keeps them, with their status,
for curators.
"""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

import numpy as np

from app.reading.imaging import ink_map, normalise, open_image
from app.samples.store import SampleStore, is_exportable, is_public, sample_key

FORMATS = ("npz", "idx", "jsonl")


def arrays(store: SampleStore) -> tuple[np.ndarray, np.ndarray]:
    """28×28 uint8 images (ink = 255, as MNIST) and labels of every usable sample."""
    images, labels = [], []
    for meta in store.all():
        if is_exportable(meta):
            digit = normalise(ink_map(open_image(store.png(meta))))
            images.append(np.round(digit * 255).astype(np.uint8))
            labels.append(meta["label"])
    return np.array(images, dtype=np.uint8).reshape(-1, 28, 28), np.array(labels, dtype=np.uint8)


def _idx(array: np.ndarray) -> bytes:
    return struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def export(store: SampleStore, fmt: str, out: Path) -> int:
    """Write the dataset into `out`; returns how many samples it holds."""
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        count = 0
        with open(out / "samples.jsonl", "w", encoding="utf-8") as handle:
            for meta in store.all():
                if is_public(meta):
                    handle.write(json.dumps({**meta, "image_key": sample_key(meta, "png")}) + "\n")
                    count += 1
        return count
    images, labels = arrays(store)
    if fmt == "npz":
        np.savez_compressed(out / "samples.npz", x=images, y=labels)
    else:
        (out / "samples-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(images)))
        (out / "samples-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(labels)))
    return len(labels)


def load_extra(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """An exported npz as float images in [0, 1] and int labels, for `train --extra`."""
    with np.load(folder / "samples.npz") as data:
        return data["x"].astype(np.float32) / 255.0, data["y"].astype(np.int64)
