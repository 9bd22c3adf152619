"""Where the shipped weights live and how they are read: for serving in NumPy, or for learning in Keras."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from app.nets.cnn_forward import CNNForward
from app.nets.fnn import FNN
from app.nets.strokes import STROKES_FILE, StrokeNet
from app.reading.rejection import REJECTION_FILE, NotADigit

if TYPE_CHECKING:
    from app.nets.cnn import CNN

FNN_FILE = "fnn.npz"
CNN_FILE = "cnn.weights.h5"


def shipped_exist(model_dir: Path) -> bool:
    return (model_dir / FNN_FILE).exists() and (model_dir / CNN_FILE).exists()


def load_for_serving(model_dir: Path) -> tuple[FNN, CNNForward]:
    """Both nets without TensorFlow: what a web process reads with (it never imports TensorFlow)."""
    return FNN.load(model_dir / FNN_FILE), CNNForward.load(model_dir / CNN_FILE)


def load_shipped(model_dir: Path) -> tuple[FNN, CNN]:
    """Both nets with the CNN in Keras: for the learner, training and evaluation."""
    from app.nets.cnn import CNN  # TensorFlow is imported here only, by the processes that learn

    return FNN.load(model_dir / FNN_FILE), CNN.load(model_dir / CNN_FILE)


def load_strokes(model_dir: Path) -> StrokeNet | None:
    """The strokes net, or none where its file is absent (drawings are then read from their picture alone)."""
    path = model_dir / STROKES_FILE
    return StrokeNet.load(path) if path.exists() else None


def load_rejection(model_dir: Path) -> NotADigit | None:
    """The not-a-digit detector, or none where its file is absent (every drawing is then read as some digit)."""
    path = model_dir / REJECTION_FILE
    return NotADigit.load(path) if path.exists() else None
