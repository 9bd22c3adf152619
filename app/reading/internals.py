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

from typing import Any

import numpy as np
from PIL import Image

from app.nets.cnn_forward import CNNForward
from app.nets.fnn import FNN
from app.reading.ensemble import DigitModel, Ensemble
from app.reading.imaging import png_bytes, png_data_url, to_data_url

TOP_UNITS = 8
FILTER_SCALE = 12  # a 4×4 kernel becomes a 48×48 image, crisp in any browser (no smoothing to undo)
UNIT_SCALE = 2  # a 28×28 weight pattern becomes 56×56

_NEGATIVE = np.array([29, 78, 216], np.float32)  # the page's accent blue
_ZERO = np.array([255, 255, 255], np.float32)
_POSITIVE = np.array([217, 95, 2], np.float32)  # orange: far from blue for colour-blind eyes too



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


def feature_maps(cnn: CNNForward, digit: np.ndarray) -> np.ndarray:
    """The first convolution's activations for one 28×28 digit, shape (filters, 28, 28)."""
    return np.moveaxis(cnn.first_feature_maps(digit[np.newaxis])[0], -1, 0)


def cnn_view(cnn: DigitModel, digit: np.ndarray) -> dict[str, Any]:
    """The first layer's filters and what they make of `digit`, computed in NumPy from the net's weights
    (Keras' or the serving copy's: the same numbers, tests/test_cnn_forward.py)."""
    net = CNNForward(cnn.get_weights())
    kernels = net.conv1  # (4, 4, 1, filters)
    scale = float(np.abs(kernels).max())
    maps = feature_maps(net, digit)
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


def cnn_architecture(cnn: DigitModel) -> dict[str, Any]:
    layers = CNNForward(cnn.get_weights()).layers()
    return {"name": "cnn", "title": "Convolutional net (Keras)", "layers": layers,
            "parameters": sum(layer["parameters"] for layer in layers)}


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
                 if k in data} | ({"pendigits_held_out_writers": len(data["pendigits_held_out_writers"])}
                                  if "pendigits_held_out_writers" in data else {}),
    }
