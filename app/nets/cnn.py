"""The small convnet in Keras, served through compiled TensorFlow functions.

`model.predict` builds a data pipeline on every call (≈ 49 ms here); a `tf.function` with a fixed
input signature is traced once and then costs well under a millisecond, so requests go through it.
Training steps for online learning are compiled the same way.

>>> import numpy as np
>>> net = CNN.initialise(seed=0)
>>> x = np.zeros((2, 28, 28), np.float32); y = np.array([3, 7])
>>> net.predict_proba(x).shape
(2, 10)
>>> before = net.loss(x, y); _ = net.learn(x, y, learning_rate=0.05); net.loss(x, y) < before
True
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

_IMAGES = tf.TensorSpec([None, 28, 28], tf.float32)
_LABELS = tf.TensorSpec([None], tf.int64)


def configure_threads(threads: int) -> None:
    """Pin TensorFlow's thread pools; one gunicorn worker per core wants one thread each.

    Only possible before TensorFlow runs its first op, so a later call is a no-op.
    """
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass


def build_model(dropout: float = 0.5) -> keras.Model:
    """The seed architecture: two 4×4 conv + pool stages, a 625-unit dense layer, 10 logits."""
    return keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Reshape((28, 28, 1)),
            keras.layers.Conv2D(16, 4, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(32, 4, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dropout(dropout / 2),
            keras.layers.Dense(625, activation="relu"),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(10),
        ],
        name="cnn",
    )


class CNN:
    """A Keras model plus its compiled inference and SGD step."""

    def __init__(self, model: keras.Model) -> None:
        self.model = model
        self._optimizer = keras.optimizers.SGD(learning_rate=0.01)
        self._optimizer.build(model.trainable_variables)
        self._loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        self._predict = tf.function(self._probabilities, input_signature=[_IMAGES], reduce_retracing=True)
        self._loss_fn = tf.function(self._loss_value, input_signature=[_IMAGES, _LABELS])
        self._step = tf.function(self._train_step, input_signature=[_IMAGES, _LABELS])

    @classmethod
    def initialise(cls, seed: int) -> CNN:
        keras.utils.set_random_seed(seed)
        return cls(build_model())

    def _probabilities(self, x: tf.Tensor) -> tf.Tensor:
        return tf.nn.softmax(self.model(x, training=False))

    def _loss_value(self, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        return self._loss(y, self.model(x, training=False))

    def _train_step(self, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = self._loss(y, self.model(x, training=True))
        grads = tape.gradient(loss, self.model.trainable_variables)
        self._optimizer.apply_gradients(zip(grads, self.model.trainable_variables, strict=True))
        return loss

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (n, 10), for float32 images shaped (n, 28, 28)."""
        return self._predict(tf.convert_to_tensor(x, tf.float32)).numpy()

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        return float(self._loss_fn(tf.convert_to_tensor(x, tf.float32), tf.convert_to_tensor(y, tf.int64)))

    def learn(self, x: np.ndarray, y: np.ndarray, learning_rate: float) -> float:
        """One SGD step (dropout on) on the batch; returns the loss before the step."""
        self._optimizer.learning_rate = learning_rate  # assigns the optimizer's variable: no retrace
        loss = self._step(tf.convert_to_tensor(x, tf.float32), tf.convert_to_tensor(y, tf.int64))
        return float(loss)

    def _fresh_model(self) -> keras.Model:
        """The same weights in a new model with no optimizer attached."""
        clone = build_model()
        clone.set_weights(self.model.get_weights())
        return clone

    def copy(self) -> CNN:
        return CNN(self._fresh_model())

    def save(self, path: Path) -> None:
        """Keras weights file (HDF5) of the weights alone: the architecture lives in code, and a
        training optimizer's slots would triple the file for nothing."""
        self._fresh_model().save_weights(str(path))

    @classmethod
    def load(cls, path: Path) -> CNN:
        model = build_model()
        model.load_weights(str(path))
        return cls(model)
