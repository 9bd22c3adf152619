"""The MNIST digits the online learner checks itself against (canary) and rehearses with (replay).

They ship beside the weights as `models/reference-digits.npz` (0.97 MB), so that learning runs
wherever the app is deployed, without MNIST or a network: before, a server without the MNIST IDX
files served with learning silently off. `flask --app app reference` picks them from MNIST with a
fixed seed and writes the file byte for byte the same each time; its SHA-256 is recorded in
`models/card.json`, and a file that does not match is refused rather than trusted.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.offline import mnist

REFERENCE_FILE = "reference-digits.npz"
CARD_FILE = "card.json"
_ARRAYS = ("canary_x", "canary_y", "replay_x", "replay_y")
_EPOCH = (1980, 1, 1, 0, 0, 0)  # a fixed zip entry time: the file's checksum depends on the digits alone


class ReferenceUnavailable(RuntimeError):
    """The shipped reference digits are missing or not the ones the model card names: learning must stay off.

    The message names files, never the server's paths: it is also the public reason /api/health gives.
    """


def sha256(path: Path) -> str:
    """A file's SHA-256 as the model card records it (weights and reference digits alike)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class ReferenceDigits:
    """Canary and replay digits as the nets read them: float32 ink in [0, 1], int64 labels."""

    canary_x: np.ndarray
    canary_y: np.ndarray
    replay_x: np.ndarray
    replay_y: np.ndarray

    @staticmethod
    def pick(data: mnist.Mnist, canary: int = 1000, replay: int = 5000, seed: int = 0) -> dict[str, np.ndarray]:
        """The digits as stored (uint8): `canary` of MNIST's test set and `replay` of its training set, at random."""
        rng = np.random.default_rng(seed)
        test = rng.choice(len(data.x_test), canary, replace=False)
        train = rng.choice(len(data.x_train), replay, replace=False)
        return {"canary_x": data.x_test[test], "canary_y": data.y_test[test].astype(np.uint8),
                "replay_x": data.x_train[train], "replay_y": data.y_train[train].astype(np.uint8)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> ReferenceDigits:
        """From the stored uint8 arrays to what the nets read (stored small, read as MNIST's loader gives)."""
        return cls(*(arrays[name].astype(np.float32) / 255.0 if name.endswith("_x") else arrays[name].astype(np.int64)
                     for name in _ARRAYS))

    @staticmethod
    def write(data: mnist.Mnist, out: Path) -> str:
        """Write `out/reference-digits.npz` reproducibly (fixed entry times, deflated); returns its SHA-256."""
        path = out / REFERENCE_FILE
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            for name, array in ReferenceDigits.pick(data).items():
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
                archive.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH), buffer.getvalue(),
                                 compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
        return sha256(path)

    @classmethod
    def load(cls, model_dir: Path) -> ReferenceDigits:
        """The shipped digits, only if their SHA-256 is the one `card.json` records (ReferenceUnavailable otherwise)."""
        path = model_dir / REFERENCE_FILE
        if not path.exists():
            raise ReferenceUnavailable(f"the reference digits ({REFERENCE_FILE}) are missing")
        try:
            expected = json.loads((model_dir / CARD_FILE).read_text())["files"][REFERENCE_FILE]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ReferenceUnavailable(f"the model card records no checksum for {REFERENCE_FILE}") from error
        found = sha256(path)
        if found != expected:
            raise ReferenceUnavailable(f"the reference digits ({REFERENCE_FILE}) do not match the model card: "
                                       f"SHA-256 {found[:12]}…, expected {expected[:12]}…")
        with np.load(path, allow_pickle=False) as stored:
            return cls.from_arrays({name: stored[name] for name in _ARRAYS})
