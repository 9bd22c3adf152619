"""Training the strokes net (app.nets.strokes) on pendigits' pen trajectories.

Each training digit is written `COPIES` times over, each time bent (pendigits.bend: another writer's shape) and
redrawn by hand (nondigits.handmade: slant, turn, stretch and a wavering pen), so 24 writers look like many
more; the first copy is the digit as written. Keras fits it (Adam, dropout); serving reads the weights in NumPy.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from app.nets.strokes import HIDDEN, StrokeNet
from app.offline import pendigits
from app.offline.nondigits import handmade
from app.reading.trajectory import SIZE, features

COPIES = 10
EPOCHS = 30
DROPOUT = 0.2
WOBBLE = 0.01  # half a non-digit's: a digit's strokes are real writing already


def training_arrays(digits: Sequence[pendigits.PenDigit], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Trajectory vectors of every digit as written and `COPIES` − 1 times redrawn, with their labels."""
    rng = np.random.default_rng(seed)
    vectors, labels = [], []
    for digit in digits:
        for copy in range(COPIES):
            strokes = digit.strokes if copy == 0 else handmade(pendigits.bend(digit.strokes, rng), rng, WOBBLE)
            vector = features(strokes)
            if vector is not None:
                vectors.append(vector)
                labels.append(digit.label)
    return np.stack(vectors), np.array(labels, dtype=np.int64)


def build_model() -> keras.Sequential:
    """The strokes net in Keras (logits out): what app.nets.strokes.StrokeNet computes from its weights."""
    hidden = [layer for width in HIDDEN
              for layer in (keras.layers.Dense(width, activation="relu"), keras.layers.Dropout(DROPOUT))]
    return keras.Sequential([keras.Input((SIZE,)), *hidden, keras.layers.Dense(10)])


def as_stroke_net(model: keras.Sequential) -> StrokeNet:
    return StrokeNet([np.asarray(w) for w in model.get_weights()])


def train_strokes(digits: Sequence[pendigits.PenDigit], seed: int, epochs: int = EPOCHS) -> StrokeNet:
    """Fit the strokes net to `digits` (their writers' every drawing; MNIST has no strokes)."""
    x, y = training_arrays(digits, seed)
    keras.utils.set_random_seed(seed)
    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=epochs, batch_size=128, verbose=0)
    return as_stroke_net(model)
