"""Writer-grouped cross-validation: folds leave out whole writers, and the summary is read off each fold's
probabilities (the training itself is `flask cross-validate`, about an hour on two cores: see models/README.md)."""

from __future__ import annotations

import numpy as np

from app.offline import mnist, pendigits
from app.offline.crossval import FOLDS, summarise
from app.offline.training import TrainingSet


def test_the_folds_leave_out_every_writer_exactly_once():
    assert [len(fold) for fold in FOLDS] == [6] * 5
    assert sorted(w for fold in FOLDS for w in fold) == list(range(1, 31))


def test_a_fold_trains_on_no_drawing_of_its_writers(pen_digits):
    digits = [d for d in pen_digits if d.writer in (1, 2, 7)][::25]
    tiny = mnist.Mnist(x_train=np.full((5010, 28, 28), 255, np.uint8), y_train=np.zeros(5010, np.int64),
                       x_test=np.zeros((0, 28, 28), np.uint8), y_test=np.zeros(0, np.int64), checksums={})
    training = TrainingSet.of(tiny, digits, seed=3)
    x_all, y_all = training.without_writers()
    x_fold, y_fold = training.without_writers(frozenset({1, 2}))
    from_seven = 4 * sum(d.writer == 7 for d in digits)
    assert len(y_all) == 10 + 4 * len(digits) and len(y_fold) == 10 + from_seven
    assert np.array_equal(x_fold[10:], training.x_pen[training.pen_writers == 7])
    assert np.array_equal(y_fold[10:], [d.label for d in digits if d.writer == 7 for _ in range(4)])
    assert len(training.y_val) == 5000 and x_all[:10].min() == 1.0


def test_the_summary_gives_each_rule_per_fold_with_its_mean_and_worst():
    rng = np.random.default_rng(0)
    folds = []
    for right in (0.9, 0.6):
        labels = rng.integers(0, 10, 200)
        cnn = np.full((200, 10), 0.01)
        hit = rng.random(200) < right
        cnn[np.arange(200), np.where(hit, labels, (labels + 1) % 10)] = 0.91
        fnn = np.full((200, 10), 0.1)  # undecided: the pair's rule follows the CNN
        folds.append({"writers": np.repeat([1, 2], 100), "labels": labels, "fnn": fnn, "cnn": cnn,
                      "mnist_fnn": fnn[:50], "mnist_cnn": cnn[:50]})
    summary = summarise(folds, folds[0]["labels"][:50])
    accuracies = [float(f["pendigits"]["cnn"]) for f in summary["folds"]]
    expected = [float(np.mean(f["cnn"].argmax(1) == f["labels"])) for f in folds]
    assert accuracies == [round(a, 4) for a in expected] and accuracies[0] > accuracies[1]
    assert summary["folds"][1]["pendigits"]["pair_rule"] == accuracies[1]
    assert summary["worst"]["cnn"] == accuracies[1]
    assert summary["mean"]["cnn"] == round(float(np.mean(expected)), 4)
    assert summary["folds"][0]["writers"] == [1, 2] and summary["folds"][0]["digits"] == 200


def test_bending_warps_the_sheet_so_strokes_that_meet_still_meet(pen_digits):
    four = next(d for d in pen_digits if d.label == 4 and len(d.strokes) == 2)
    joint = four.strokes[1][0]
    strokes = [four.strokes[0] + [joint], four.strokes[1]]  # the first stroke ends where the second starts
    rng = np.random.default_rng(5)
    bent = [pendigits.bend(strokes, rng) for _ in range(50)]
    side = float(np.ptp(np.array([p for s in strokes for p in s]), axis=0).max())
    moves = np.array([np.abs(np.array(b[1]) - np.array(strokes[1])).max() for b in bent]) / side
    assert all(b[0][-1] == b[1][0] for b in bent)
    assert 0.01 < np.median(moves) < 0.15 and moves.max() < 0.35
    assert [len(s) for s in bent[0]] == [len(s) for s in strokes]
    assert pendigits.bend(strokes, np.random.default_rng(5)) == bent[0]
