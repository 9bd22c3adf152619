"""The replay digits are the ones an online step has damaged, not a random draw."""

from __future__ import annotations

import numpy as np

from app.config import ROOT
from app.nets.fnn import FNN
from app.offline import mnist
from app.online.rehearsal import Rehearsal


def test_rehearsal_picks_the_digits_whose_loss_rose_since_shipping(mnist_dir):
    data = mnist.load(mnist_dir)
    x, y = data.x_train[:2000].astype(np.float32) / 255.0, data.y_train[:2000]
    shipped = FNN.load(ROOT / "models" / "fnn.npz")
    online = shipped.copy()
    online.params["b2"][3] -= 6.0  # a harmful online step: the net now shies away from reading 3s
    rehearsal = Rehearsal(x, y, {"fnn_online": shipped}, candidates=512, batch=32, seed=1)

    weights = online.online_weights()
    _, picked = rehearsal.pick("fnn_online", weights, rehearsal.window("fnn_online", weights, turn=0))

    assert np.mean(picked == 3) >= 0.9  # 3s are ~10 % of a random draw
    weights = shipped.online_weights()
    _, untouched = rehearsal.pick("fnn_online", weights, rehearsal.window("fnn_online", weights, turn=0))
    assert np.mean(untouched == 3) < 0.5  # nothing drifted: no class stands out
