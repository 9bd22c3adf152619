"""Accuracy of every model and of the ensemble answer, on MNIST and on drawn (pendigits) digits."""

from __future__ import annotations

import numpy as np

from app.reading.ensemble import MODEL_NAMES, Ensemble, combine, decide


def ensemble_accuracies(ensemble: Ensemble, x: np.ndarray, y: np.ndarray, batch: int = 2000,
                        trajectories: np.ndarray | None = None) -> dict[str, float]:
    """Share right per model, and for the ensemble answer (not recognised counts as wrong); with the drawings'
    `trajectories` (app.reading.trajectory) and a strokes net, also that net's and the answer with strokes."""
    parts = [ensemble.probabilities(x[i:i + batch]) for i in range(0, len(x), batch)]
    probs = {name: np.concatenate([p[name] for p in parts]) for name in MODEL_NAMES}
    answers, _ = decide(probs["fnn_online"], probs["cnn_online"])
    result = {name: float((probs[name].argmax(1) == y).mean()) for name in MODEL_NAMES}
    result["ensemble"] = float((answers == y).mean())
    result["not_recognised"] = float((answers < 0).mean())
    if trajectories is not None and ensemble.strokes is not None:
        path = ensemble.strokes.predict_proba(trajectories)
        with_strokes = combine(probs["fnn_online"], probs["cnn_online"], strokes=path).answer
        result |= {"strokes": float((path.argmax(1) == y).mean()), "with_strokes": float((with_strokes == y).mean()),
                   "not_recognised_with_strokes": float((with_strokes < 0).mean())}
    return {k: round(v, 4) for k, v in result.items()}
