"""The small convnet in Keras, served through compiled TensorFlow functions.

`model.predict` builds a data pipeline on every call (≈ 49 ms here); a `tf.function` with a fixed
input signature is traced once and then costs well under a millisecond, so requests go through it.
The gradient for online learning steps is compiled the same way, from the frozen convolutional features: the
learner keeps those of its replay digits, so only a correction's own views go through the convolutions.

>>> import numpy as np
>>> net = CNN.initialise(seed=0)
>>> x = np.zeros((2, 28, 28), np.float32); y = np.array([3, 7])
>>> net.predict_proba(x).shape
(2, 10)
>>> before = net.loss(x, y); _ = net.learn(x, y, learning_rate=0.05); net.loss(x, y) < before
True
"""

from __future__ import annotations

import io
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from app.nets.cnn_forward import DROPOUT, KERNEL
from app.nets.gradient import Outer

_IMAGES = tf.TensorSpec([None, 28, 28], tf.float32)
_LABELS = tf.TensorSpec([None], tf.int64)
_FEATURES = tf.TensorSpec([None, None], tf.float32)


def configure_threads(threads: int) -> None:
    """Pin TensorFlow's thread pools; one gunicorn worker per core wants one thread each.

    Only possible before TensorFlow runs its first op, so a later call is a no-op.
    """
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass


def build_model(dropout: float = DROPOUT) -> keras.Model:
    """The seed architecture: two 4×4 conv + pool stages, a 625-unit dense layer, 10 logits."""
    return keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Reshape((28, 28, 1)),
            keras.layers.Conv2D(16, KERNEL, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(32, KERNEL, padding="same", activation="relu"),
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
    """A Keras model plus its compiled inference and gradient functions.

    Online steps move only the dense layers: the convolutional filters are generic stroke detectors
    that MNIST taught well, and measured on pendigits corrections a dense-only step needs about a
    tenth of the damage to MNIST accuracy for the same fix.
    """

    def __init__(self, model: keras.Model) -> None:
        self.model = model
        self._online = [v for layer in model.layers if isinstance(layer, keras.layers.Dense)
                        for v in layer.trainable_variables]
        # NumPy copies of `_online` as last set: reading the variables back cost the learner 2.7 ms per correction
        # (measured, cProfile), and every change to them goes through this class (`set_online_weights`,
        # `set_weights`); the model is trained offline (`model.fit`) before it is wrapped here
        self._online_values = self._read_online()
        self._loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        # the concrete function is called directly: tf.function's per-call signature matching would cost
        # more than the forward pass itself (≈ 0.6 ms of ≈ 1 ms per call, measured)
        self._predict = tf.function(self._probabilities, input_signature=[_IMAGES]).get_concrete_function()
        self._loss_fn = tf.function(self._loss_value, input_signature=[_IMAGES, _LABELS])
        self._gradient = tf.function(self._gradient_value, input_signature=[_FEATURES, _LABELS])
        split = next(i for i, layer in enumerate(model.layers) if isinstance(layer, keras.layers.Flatten)) + 1
        self._body, self._head = model.layers[:split], model.layers[split:]
        self._features = tf.function(self._features_value, input_signature=[_IMAGES])
        self._head_proba = tf.function(self._head_value, input_signature=[_FEATURES]).get_concrete_function()
        self._hidden = tf.function(self._hidden_value, input_signature=[_IMAGES]).get_concrete_function()

    @classmethod
    def initialise(cls, seed: int) -> CNN:
        keras.utils.set_random_seed(seed)
        return cls(build_model())

    def _probabilities(self, x: tf.Tensor) -> tf.Tensor:
        return tf.nn.softmax(self.model(x, training=False))

    def _loss_value(self, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        return self._loss(y, self.model(x, training=False))

    def _gradient_value(self, features: tf.Tensor, y: tf.Tensor) -> list[tf.Tensor]:
        """The hidden layer's pre-activation deltas per example, then the gradient of every online weight but the
        hidden kernel (which is features.T @ deltas: see `gradient_from_features`)."""
        # dropout off: an online step must be repeatable, and the step length is searched on this gradient
        with tf.GradientTape() as tape:
            x, hidden = features, None
            for layer in self._head:
                x = layer(x, training=False)
                if hidden is None and isinstance(layer, keras.layers.Dense):
                    hidden = x
            loss = self._loss(y, x)
        d_hidden, *rest = tape.gradient(loss, [hidden, *self._online[1:]])
        return [d_hidden * tf.cast(hidden > 0, tf.float32), *rest]

    def _features_value(self, x: tf.Tensor) -> tf.Tensor:
        for layer in self._body:
            x = layer(x, training=False)
        return x

    def _hidden_value(self, x: tf.Tensor) -> tf.Tensor:
        for layer in self.model.layers[:-1]:
            x = layer(x, training=False)
        return x

    def _logits(self, features: tf.Tensor) -> tf.Tensor:
        for layer in self._head:
            features = layer(features, training=False)
        return features

    def _head_value(self, features: tf.Tensor) -> tf.Tensor:
        return tf.nn.softmax(self._logits(features))

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (n, 10), for float32 images shaped (n, 28, 28)."""
        return self._predict(tf.convert_to_tensor(x, tf.float32)).numpy()

    def frozen_features(self, x: np.ndarray) -> np.ndarray:
        """The convolutional features, which online learning never changes: computed once for a
        fixed set of digits, they make re-scoring that set after each step three times cheaper."""
        return self._features(tf.convert_to_tensor(x, tf.float32)).numpy()

    def hidden(self, x: np.ndarray) -> np.ndarray:
        """What the last layer reads (the 625 dense units): a person's own last layer is fitted on these."""
        return self._hidden(tf.convert_to_tensor(x, tf.float32)).numpy()

    def output_layer(self) -> tuple[np.ndarray, np.ndarray]:
        """The last layer's kernel (625×10) and bias."""
        kernel, bias = self.model.layers[-1].get_weights()
        return kernel, bias

    def proba_from_features(self, features: np.ndarray) -> np.ndarray:
        return self._head_proba(tf.convert_to_tensor(features, tf.float32)).numpy()

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        return float(self._loss_fn(tf.convert_to_tensor(x, tf.float32), tf.convert_to_tensor(y, tf.int64)))

    def gradient(self, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
        """Gradient of the batch loss for the online (dense) weights."""
        gradient = self.gradient_from_features(self.frozen_features(x), y)
        return [g.dense() if isinstance(g, Outer) else g for g in gradient]

    def gradient_from_features(self, features: np.ndarray, y: np.ndarray) -> list[np.ndarray | Outer]:
        """`gradient` for images given by their `frozen_features` (the convolutions take no part in a step), with
        the 1568×625 hidden kernel's as the `Outer` product it is: the learner rounds and stores its factors."""
        deltas, *rest = self._gradient(tf.convert_to_tensor(features, tf.float32), tf.convert_to_tensor(y, tf.int64))
        return [Outer(features.reshape(len(features), -1), deltas.numpy()), *(g.numpy() for g in rest)]

    def online_weights(self) -> list[np.ndarray]:
        """The dense layers' kernels and biases, as arrays the caller must not change in place (like
        `CNNForward.online_weights`)."""
        return self._online_values

    def _read_online(self) -> list[np.ndarray]:
        return [v.numpy() for v in self._online]

    def set_online_weights(self, weights: list[np.ndarray]) -> None:
        values = [np.asarray(w, np.float32) for w in weights]
        for variable, value in zip(self._online, values, strict=True):
            variable.assign(value)
        self._online_values = values

    def learn(self, x: np.ndarray, y: np.ndarray, learning_rate: float) -> float:
        """One SGD step on the online weights; returns the loss before the step."""
        loss = self.loss(x, y)
        self.set_online_weights([w - learning_rate * g for w, g in zip(self.online_weights(), self.gradient(x, y),
                                                                       strict=True)])
        return loss

    def _fresh_model(self) -> keras.Model:
        """The same weights in a new model, free of any training optimizer's state."""
        clone = build_model()
        clone.set_weights(self.model.get_weights())
        return clone

    def copy(self) -> CNN:
        return CNN(self._fresh_model())

    def to_bytes(self) -> bytes:
        """The weights as .npz bytes: several times faster to write than HDF5, for online versions."""
        buffer = io.BytesIO()
        np.savez(buffer, *self.model.get_weights())
        return buffer.getvalue()

    def load_bytes(self, data: bytes) -> None:
        """Take weights written by `to_bytes`, in place (no new model, no retrace)."""
        with np.load(io.BytesIO(data)) as arrays:
            self.set_weights([arrays[f"arr_{i}"] for i in range(len(arrays.files))])

    def get_weights(self) -> list[np.ndarray]:
        return self.model.get_weights()

    def set_weights(self, weights: list[np.ndarray]) -> None:
        self.model.set_weights(weights)
        self._online_values = self._read_online()

    def save(self, path: Path) -> None:
        """Keras weights file (HDF5) of the weights alone: the architecture lives in code, and a
        training optimizer's slots would triple the file for nothing."""
        self._fresh_model().save_weights(str(path))

    @classmethod
    def load(cls, path: Path) -> CNN:
        model = build_model()
        model.load_weights(str(path))
        return cls(model)
