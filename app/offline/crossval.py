"""Writer-grouped cross-validation of the training recipe on the 30 pendigits writers.

A model that has seen a writer reads that writer better than a new visitor will be read, so the only
honest figure for first contact is one measured on whole writers left out of training. Each fold leaves out
six writers, trains both nets with exactly the shipped recipe (`flask train`) on MNIST and the other 24, and
reads the six writers' digits drawn with the page's brush; the strokes net (app.offline.stroke_training) learns
the 24 writers' pen trajectories and reads the six's as written. Each fold's probabilities are kept, so answer rules
can be compared on the same folds without training again, and each fold's nets are kept for benchmarks that
need nets its writers are new to; a run that stops resumes at the first missing fold.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.nets.strokes import STROKES_FILE
from app.offline import mnist, pendigits
from app.reading.ensemble import combine, decide
from app.reading.model_files import CNN_FILE, FNN_FILE

if TYPE_CHECKING:
    from app.offline.training import TrainingSet

FOLDS = tuple(frozenset(range(first, first + 6)) for first in range(1, 31, 6))  # writers 1–6, 7–12, …, 25–30
PROBABILITIES = "read.npz"  # what the fold's nets read of its writers' digits and of MNIST's test set


def fold_folder(out: Path, number: int) -> Path:
    """Fold `number`'s nets (`fnn.npz`, `cnn.weights.h5`: a models folder the app can serve) and readings."""
    return out / f"fold-{number}"


def cross_validate(data: mnist.Mnist, pen_digits: Sequence[pendigits.PenDigit], out: Path, *, seed: int,
                   fnn_epochs: int, cnn_epochs: int, progress: Callable[[str], None]) -> dict:
    """Train and read every fold (skipping folds whose probabilities are already in `out`); the summary."""
    # Keras here only: the folds' layout (FOLDS, fold_folder) serves benchmarks that read with NumPy alone
    from app.offline.stroke_training import train_strokes
    from app.offline.training import TrainingSet, train_cnn, train_fnn

    out.mkdir(parents=True, exist_ok=True)
    training: TrainingSet | None = None  # drawn (2 minutes) only if a fold still has its pair to train
    for number, held in enumerate(FOLDS, start=1):
        folder = fold_folder(out, number)
        test = [d for d in pen_digits if d.writer in held]
        if not (folder / PROBABILITIES).exists():
            progress(f"fold {number}: writers {min(held)}–{max(held)} left out")
            training = training or TrainingSet.of(data, pen_digits, seed)
            x_fit, y_fit = training.without_writers(held)
            fnn, _ = train_fnn(x_fit, y_fit, training.x_val, training.y_val, seed=seed, epochs=fnn_epochs)
            cnn, _ = train_cnn(x_fit, y_fit, training.x_val, training.y_val, seed=seed, epochs=cnn_epochs)
            x, y = pendigits.as_arrays(test)
            mnist_x = data.x_test.astype(np.float32) / 255.0
            folder.mkdir(exist_ok=True)
            fnn.save(folder / FNN_FILE)  # a models folder: for benchmarks that need nets these writers are new to
            cnn.save(folder / CNN_FILE)
            np.savez_compressed(folder / PROBABILITIES, writers=np.array([d.writer for d in test]), labels=y,
                                fnn=fnn.predict_proba(x), cnn=cnn.predict_proba(x),
                                mnist_fnn=fnn.predict_proba(mnist_x), mnist_cnn=cnn.predict_proba(mnist_x))
        with np.load(folder / PROBABILITIES) as stored:
            readings = dict(stored)
        if "strokes" not in readings:  # the second stage, resumable on its own like the first
            progress(f"fold {number}: the strokes net")
            net = train_strokes([d for d in pen_digits if d.writer not in held], seed)
            net.save(folder / STROKES_FILE)
            readings["strokes"] = net.predict_proba(pendigits.trajectories(test))
            np.savez_compressed(folder / PROBABILITIES, **readings)
    summary = summarise([np.load(fold_folder(out, n) / PROBABILITIES) for n in range(1, len(FOLDS) + 1)],
                        data.y_test)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def answers(fnn: np.ndarray, cnn: np.ndarray, strokes: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Each answer rule worth comparing, for one batch of the nets' probabilities (−1: not recognised); with the
    strokes net's, also the served rule when the pen's path is sent (`with_strokes`) and that net alone."""
    rules = {"pair_rule": decide(fnn, cnn)[0], "cnn": cnn.argmax(1), "fnn": fnn.argmax(1),
             "mean": (fnn + cnn).argmax(1), "cnn_weighted_2_3": (fnn + 2 * cnn).argmax(1)}
    if strokes is not None:
        rules |= {"with_strokes": combine(fnn, cnn, strokes=strokes).answer, "strokes": strokes.argmax(1)}
    return rules


def summarise(folds: Sequence[Mapping[str, np.ndarray]], mnist_labels: np.ndarray) -> dict:
    """Per-fold, mean and worst accuracy of every rule on the left-out writers, and on MNIST's test set."""
    per_fold = []
    for number, fold in enumerate(folds, start=1):
        rules = answers(fold["fnn"], fold["cnn"], fold.get("strokes"))
        mnist_rules = answers(fold["mnist_fnn"], fold["mnist_cnn"])
        per_fold.append({"fold": number, "writers": sorted({int(w) for w in fold["writers"]}),
                         "digits": len(fold["labels"]),
                         "pendigits": {k: round(float((v == fold["labels"]).mean()), 4) for k, v in rules.items()},
                         "mnist_test": {k: round(float((v == mnist_labels).mean()), 4)
                                        for k, v in mnist_rules.items()}})
    rules = per_fold[0]["pendigits"]
    return {"folds": per_fold,
            "mean": {k: round(float(np.mean([f["pendigits"][k] for f in per_fold])), 4) for k in rules},
            "worst": {k: round(float(np.min([f["pendigits"][k] for f in per_fold])), 4) for k in rules},
            "mnist_test_mean": {k: round(float(np.mean([f["mnist_test"][k] for f in per_fold])), 4)
                                for k in per_fold[0]["mnist_test"]}}
