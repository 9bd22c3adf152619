"""Training the shipped nets from MNIST (plus optional extra labelled drawings).

Both nets see every batch freshly distorted (app.offline.augmentation), so they learn canvas-like variation
rather than MNIST's scanner quirks. Seeds are fixed; the run is repeatable on one machine.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from app.nets.cnn import CNN, build_model
from app.nets.fnn import FNN
from app.offline import mnist, pendigits
from app.offline.augmentation import augment, augment_array

log = logging.getLogger(__name__)

VALIDATION = 5000  # the last MNIST training images, held out for the curves


@dataclass(frozen=True)
class TrainingSet:
    """What both nets learn from: MNIST's training images but the last `VALIDATION`, every pendigits digit drawn
    4 times on random canvases (`pendigits.training_arrays`, each tagged with its writer), and any extra drawings.

    Drawn once, so that cross-validation folds differ only in which writers they leave out, and a fold's images
    of a writer are exactly those the shipped nets learn from.
    """

    x_mnist: np.ndarray
    y_mnist: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_pen: np.ndarray
    y_pen: np.ndarray
    pen_writers: np.ndarray
    x_extra: np.ndarray
    y_extra: np.ndarray

    @classmethod
    def of(cls, data: mnist.Mnist, pen_digits: Sequence[pendigits.PenDigit], seed: int,
           extra: tuple[np.ndarray, np.ndarray] | None = None) -> TrainingSet:
        x, y = data.x_train.astype(np.float32) / 255.0, data.y_train
        copies = 4
        x_pen, y_pen = pendigits.training_arrays(pen_digits, seed, copies) if pen_digits else (x[:0], y[:0])
        x_extra, y_extra = extra if extra is not None else (x[:0], y[:0])
        return cls(x[:-VALIDATION], y[:-VALIDATION], x[-VALIDATION:], y[-VALIDATION:], x_pen, y_pen,
                   np.repeat([d.writer for d in pen_digits], copies).astype(np.int64), x_extra, y_extra)

    def without_writers(self, left_out: frozenset[int] = frozenset()) -> tuple[np.ndarray, np.ndarray]:
        """Images and labels to fit, with every drawing of the `left_out` writers removed."""
        kept = ~np.isin(self.pen_writers, list(left_out))
        return (np.concatenate([self.x_mnist, self.x_pen[kept], self.x_extra]),
                np.concatenate([self.y_mnist, self.y_pen[kept], self.y_extra]))


@dataclass
class History:
    """Per-epoch curves for the training-curve figure and the model card."""

    loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)


def accuracy(model: FNN | CNN, x: np.ndarray, y: np.ndarray, batch: int = 2000) -> float:
    predictions = np.concatenate([model.predict_proba(x[i:i + batch]).argmax(1) for i in range(0, len(x), batch)])
    return float((predictions == y).mean())


def _cosine(step: int, total: int, peak: float) -> float:
    return 0.5 * peak * (1.0 + math.cos(math.pi * step / total))


def train_fnn(
    x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, *, seed: int, epochs: int
) -> tuple[FNN, History]:
    """Mini-batch SGD with momentum and a cosine schedule, on our own gradients."""
    from tqdm import tqdm

    net, history = FNN.initialise(seed), History()
    rng = np.random.default_rng(seed)
    velocity = {k: np.zeros_like(v) for k, v in net.params.items()}
    batch, momentum, peak = 128, 0.9, 0.05
    steps_per_epoch = len(x) // batch
    total, step = epochs * steps_per_epoch, 0
    for epoch in tqdm(range(epochs), desc="fnn", unit="epoch"):
        # the last epochs see plain images so the net also fits MNIST's own look closely
        images = augment_array(x, seed + epoch) if epoch < epochs - 2 else x
        order = rng.permutation(len(x))
        losses = []
        for i in range(steps_per_epoch):
            idx = order[i * batch:(i + 1) * batch]
            loss, grads = net.loss_and_gradients(images[idx], y[idx])
            rate = _cosine(step, total, peak)
            for name, grad in grads.items():
                velocity[name] = momentum * velocity[name] - rate * grad
                net.params[name] += velocity[name]
            losses.append(loss)
            step += 1
        history.loss.append(float(np.mean(losses)))
        history.val_accuracy.append(accuracy(net, x_val, y_val))
        log.info("fnn epoch", extra={"epoch": epoch + 1, "loss": history.loss[-1], "val": history.val_accuracy[-1]})
    return net, history


def train_cnn(
    x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, *, seed: int, epochs: int
) -> tuple[CNN, History]:
    """Adam with a cosine schedule through Keras `fit`; augmentation runs inside the input pipeline."""
    keras.utils.set_random_seed(seed)
    model = build_model()
    batch = 128
    steps = epochs * math.ceil(len(x) / batch)
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, steps, alpha=0.02)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    rng = tf.random.Generator.from_seed(seed)
    data = (
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        .batch(batch)
        .map(lambda images, labels: (augment(images, rng), labels))
        .prefetch(2)
    )
    result = model.fit(data, epochs=epochs, validation_data=(x_val, y_val), verbose=2)
    history = History(loss=result.history["loss"], val_accuracy=result.history["val_accuracy"])
    return CNN(model), history
