"""Where the shipped weights live and how they are read."""

from __future__ import annotations

from pathlib import Path

from app.nets.cnn import CNN
from app.nets.fnn import FNN

FNN_FILE = "fnn.npz"
CNN_FILE = "cnn.weights.h5"


def shipped_exist(model_dir: Path) -> bool:
    return (model_dir / FNN_FILE).exists() and (model_dir / CNN_FILE).exists()


def load_shipped(model_dir: Path) -> tuple[FNN, CNN]:
    return FNN.load(model_dir / FNN_FILE), CNN.load(model_dir / CNN_FILE)
