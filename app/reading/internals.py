"""Inside the nets: their architectures and parameter counts, and how they see one drawing.

For a 28×28 digit: the CNN's first convolution — its 16 learned 4×4 filters and the 16 feature maps
they make of the digit (after ReLU) — and the FNN's hidden units that fire hardest, each shown as
the 28×28 pattern of its 784 input weights. Both come from the online (learning) copies, whose
answer the page shows; the CNN's convolutions never learn online, so its filters are the shipped ones.

Images are PNG data URLs. Weights are signed, so they use a diverging map (blue negative, white
zero, orange positive, on one scale per group); activations are non-negative and drawn as the
preview is, white on black, on one scale for all 16 maps so that a weak map looks weak.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from app.nets.cnn import CNN
from app.nets.fnn import FNN
from app.reading.ensemble import Ensemble
from app.reading.imaging import png_bytes, png_data_url, to_data_url

TOP_UNITS = 8
FILTER_SCALE = 12  # a 4×4 kernel becomes a 48×48 image, crisp in any browser (no smoothing to undo)
UNIT_SCALE = 2  # a 28×28 weight pattern becomes 56×56

_NEGATIVE = np.array([29, 78, 216], np.float32)  # the page's accent blue
_ZERO = np.array([255, 255, 255], np.float32)
_POSITIVE = np.array([217, 95, 2], np.float32)  # orange: far from blue for colour-blind eyes too

_first_conv: weakref.WeakKeyDictionary[CNN, Callable[[tf.Tensor], tf.Tensor]] = weakref.WeakKeyDictionary()


def diverging(values: np.ndarray, scale: float | None = None, upscale: int = 1) -> str:
    """A signed 2-D array as an RGB PNG data URL: −scale blue, 0 white, +scale orange.

    >>> diverging(np.array([[-1.0, 0.0, 1.0]])).startswith("data:image/png;base64,")
    True
    """
    limit = float(np.abs(values).max()) if scale is None else scale
    t = np.clip(values / limit, -1.0, 1.0)[..., np.newaxis] if limit > 0 else np.zeros((*values.shape, 1))
    rgb = np.where(t < 0, _ZERO + (_NEGATIVE - _ZERO) * -t, _ZERO + (_POSITIVE - _ZERO) * t)
    pixels = (rgb + 0.5).astype(np.uint8)
    if upscale > 1:
        pixels = pixels.repeat(upscale, axis=0).repeat(upscale, axis=1)
    return png_data_url(png_bytes(Image.fromarray(pixels), optimize=True))  # sent with every internals view


def first_conv_layer(cnn: CNN) -> keras.layers.Conv2D:
    return next(layer for layer in cnn.model.layers if isinstance(layer, keras.layers.Conv2D))


def _first_conv_fn(cnn: CNN) -> Callable[[tf.Tensor], tf.Tensor]:
    """A compiled function from images to the first convolution's output (ReLU included), traced once
    per net, as app/nets/cnn.py does for inference."""
    found = _first_conv.get(cnn)
    if found is None:
        layers = cnn.model.layers
        stop = layers.index(first_conv_layer(cnn)) + 1
        head = layers[:stop]

        def run(x: tf.Tensor) -> tf.Tensor:
            for layer in head:
                x = layer(x, training=False)
            return x

        found = _first_conv[cnn] = tf.function(run, input_signature=[tf.TensorSpec([None, 28, 28], tf.float32)])
    return found


def feature_maps(cnn: CNN, digit: np.ndarray) -> np.ndarray:
    """The first convolution's activations for one 28×28 digit, shape (filters, 28, 28)."""
    maps = _first_conv_fn(cnn)(tf.convert_to_tensor(digit[np.newaxis], tf.float32)).numpy()[0]
    return np.moveaxis(maps, -1, 0)


def cnn_view(cnn: CNN, digit: np.ndarray) -> dict[str, Any]:
    kernels = first_conv_layer(cnn).get_weights()[0]  # (4, 4, 1, filters)
    scale = float(np.abs(kernels).max())
    maps = feature_maps(cnn, digit)
    peaks = maps.reshape(len(maps), -1).max(axis=1)
    top = float(peaks.max())
    return {
        "filters": [diverging(kernels[:, :, 0, i], scale, FILTER_SCALE) for i in range(kernels.shape[-1])],
        "feature_maps": [to_data_url(m / top if top > 0 else m) for m in maps],
        "feature_peaks": [round(float(p), 4) for p in peaks],
        "kernel_size": list(kernels.shape[:2]),
    }


def fnn_view(fnn: FNN, digit: np.ndarray, count: int = TOP_UNITS) -> dict[str, Any]:
    """The hidden units that fire hardest for this digit, each with its input weights as a picture and
    the digit its output weights push hardest towards, given how hard it fires."""
    hidden = fnn.hidden(digit[np.newaxis])[0]
    w1, w2 = fnn.params["w1"], fnn.params["w2"]
    units = []
    for unit in np.argsort(hidden)[::-1][:count]:
        push = hidden[unit] * w2[unit]
        units.append({
            "unit": int(unit),
            "activation": round(float(hidden[unit]), 4),
            "weights_image": diverging(w1[:, unit].reshape(28, 28), upscale=UNIT_SCALE),
            "pushes_towards": int(push.argmax()),
            "push": round(float(push.max()), 4),
        })
    return {"top_units": units, "active_units": int((hidden > 0).sum()), "hidden_units": int(hidden.size)}


def explain(ensemble: Ensemble, digit: np.ndarray) -> dict[str, Any]:
    """The body of POST /api/internals for one normalised 28×28 digit."""
    reading = ensemble.predict(digit)
    return {
        "preview": to_data_url(digit),
        "answer": reading["answer"],
        "models": reading["models"],
        "model_version": reading["model_version"],
        "cnn": {"model": "cnn_online", **cnn_view(ensemble.models["cnn_online"], digit)},
        "fnn": {"model": "fnn_online", **fnn_view(ensemble.models["fnn_online"], digit)},
    }


def _shape(shape: Any) -> list[int]:
    return [int(n) for n in tuple(shape)[1:]]


def fnn_architecture(fnn: FNN) -> dict[str, Any]:
    w1, b1, w2, b2 = (fnn.params[k] for k in ("w1", "b1", "w2", "b2"))
    layers = [
        {"kind": "Input", "detail": "28×28 image, flattened", "output": [w1.shape[0]], "parameters": 0},
        {"kind": "Dense", "detail": f"{w1.shape[1]} units, ReLU", "output": [w1.shape[1]],
         "parameters": int(w1.size + b1.size), "learns_online": True},
        {"kind": "Dense", "detail": f"{w2.shape[1]} units, softmax", "output": [w2.shape[1]],
         "parameters": int(w2.size + b2.size), "learns_online": True},
    ]
    return {"name": "fnn", "title": "Fully connected net (NumPy)", "layers": layers,
            "parameters": int(sum(p.size for p in fnn.params.values()))}


def _detail(layer: keras.layers.Layer) -> str:
    config = layer.get_config()
    if isinstance(layer, keras.layers.Conv2D):
        size = "×".join(map(str, config["kernel_size"]))
        return f"{config['filters']} filters {size}, {config['padding']}, {config['activation']}"
    if isinstance(layer, keras.layers.MaxPooling2D):
        return "max " + "×".join(map(str, config["pool_size"]))
    if isinstance(layer, keras.layers.Dropout):
        return f"drop {config['rate']:.0%} while training"
    if isinstance(layer, keras.layers.Dense):
        activation = "logits → softmax" if config["activation"] == "linear" else config["activation"]
        return f"{config['units']} units, {activation}"
    if isinstance(layer, keras.layers.Reshape):
        return "28×28 → 28×28×1"
    if isinstance(layer, keras.layers.Flatten):
        return "into one vector"
    return ""


def cnn_architecture(cnn: CNN) -> dict[str, Any]:
    layers = [{"kind": "Input", "detail": "28×28 image", "output": [28, 28], "parameters": 0}]
    for layer in cnn.model.layers:
        entry = {"kind": type(layer).__name__, "detail": _detail(layer), "output": _shape(layer.output.shape),
                 "parameters": int(layer.count_params())}
        if isinstance(layer, keras.layers.Dense):
            entry["learns_online"] = True
        layers.append(entry)
    return {"name": "cnn", "title": "Convolutional net (Keras)", "layers": layers,
            "parameters": int(cnn.model.count_params())}


def card_figures(card: dict[str, Any]) -> dict[str, Any]:
    """What the pages show of models/card.json: accuracies, curves, how the nets were trained."""
    data = card.get("data", {})
    return {
        "created": card.get("created"),
        "command": card.get("command"),
        "seed": card.get("seed"),
        "epochs": card.get("epochs", {}),
        "training_seconds": card.get("training_seconds", {}),
        "accuracy": card.get("accuracy", {}),
        "curves": card.get("curves", {}),
        "data": {k: data[k] for k in ("mnist_train_images", "mnist_validation_images", "pendigits_train_images")
                 if k in data},
    }
