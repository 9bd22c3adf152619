"""Learning off the request path: web processes that import no TensorFlow, and one learner that takes
corrections from the index in order, exactly once each, across a learner that is down or killed."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from app.config import ROOT
from app.offline import pendigits
from app.online.versions import VersionStore
from app.reading.ensemble import ONLINE
from app.reading.imaging import ink_map, normalise, open_image
from app.runtime import runtime
from app.samples.storage import LocalStorage
from tests.webserver import web_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def drawings(pen_digits) -> list[tuple[int, str]]:
    digits = pendigits.held_out(pen_digits)[:8]
    return [(d.label, pendigits.data_url(image)) for d, image in pendigits.canvas_drawings(digits)]


def _environment(data_dir: Path) -> dict[str, str]:
    return {**os.environ, "DIGITDRAW_LEARNER": "process", "DIGITDRAW_DATA_DIR": str(data_dir),
            "DIGITDRAW_MODEL_DIR": str(ROOT / "models"), "DIGITDRAW_TF_THREADS": "1"}


def _learner(data_dir: Path) -> subprocess.Popen:
    """`flask --app app learn`, as the Procfile's learner: runs it."""
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "learn"], cwd=ROOT,
                            env=_environment(data_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _settled(app, count: int, timeout: float = 120.0) -> list[dict]:
    """Every sample's index row once the learner has decided on all `count` of them."""
    deadline = time.monotonic() + timeout
    with app.app_context():
        index = runtime().index
        while time.monotonic() < deadline:
            rows = [index.get(i) for i in index.ids()]
            if len(rows) == count and all(row["status"] != "pending" for row in rows):
                return rows
            time.sleep(0.2)
    raise AssertionError("the learner did not settle every sample")


def test_a_web_process_serves_without_tensorflow(tmp_path, drawings):
    script = ("import sys; from app import create_app; app = create_app({'RATE_LIMIT': '1000/second'}); "
              "c = app.test_client(); "
              f"r = c.post('/api/predict', json={{'image': {drawings[0][1]!r}}}); "
              "print(r.status_code, r.get_json()['answer'], 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    found = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                           env={**_environment(tmp_path), "DIGITDRAW_LEARNER": "process"}, check=True)
    assert found.stdout.split() == ["200", str(drawings[0][0]), "False", "False"]


# a prediction's headers and the start of its 100 kB body, the rest never sent
_TRICKLED_START = (b"POST /api/predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                   b"Content-Length: 100000\r\n\r\n{\"image\": \"data:image/png;base64,")


def test_a_client_trickling_its_body_holds_up_no_other_request(tmp_path, drawings):
    """One web worker, as gunicorn.conf.py configures it (gthread): while a client has sent a prediction's
    headers and only the start of its body, other clients' /api/health and predictions are answered (a sync worker would
    wait for the slow body until its timeout, 60 s; urlopen gives up after 10)."""
    label, image = drawings[0]
    with (web_server(tmp_path, **_environment(tmp_path), WEB_CONCURRENCY="1") as server,
          socket.create_connection(("127.0.0.1", server.port), timeout=30) as slow):
        slow.sendall(_TRICKLED_START)
        time.sleep(0.5)  # the worker is reading the slow body now
        base = f"http://127.0.0.1:{server.port}/api"
        with urllib.request.urlopen(f"{base}/health", timeout=10) as health:
            assert json.load(health)["status"] == "ok"
        predict = urllib.request.Request(f"{base}/predict", data=json.dumps({"image": image}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(predict, timeout=10) as prediction:
            assert json.load(prediction)["answer"] == label
        slow.sendall(b"iVBOR")  # still trickling, on a connection the server keeps open


def test_a_worker_whose_threads_slow_clients_hold_takes_no_more_clients(tmp_path):
    """Two workers of two threads and three clients trickling their bodies: one worker has both its threads held
    (two of three must share a worker). Every other client is answered by the worker with a thread free, never
    queued behind the slow ones (a worker used to accept every connection, so about half of them waited)."""
    with (web_server(tmp_path, **_environment(tmp_path), WEB_CONCURRENCY="2", GUNICORN_THREADS="2") as server,
          contextlib.ExitStack() as slow_clients):
        for _ in range(3):
            slow = slow_clients.enter_context(socket.create_connection(("127.0.0.1", server.port), timeout=30))
            slow.sendall(_TRICKLED_START)
            time.sleep(0.3)  # accepted and being read before the next one comes
        for _ in range(8):
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/api/health", timeout=5) as health:
                assert json.load(health)["status"] == "ok"


def test_corrections_wait_in_the_queue_for_the_learner_and_are_learned_in_order(make_app, tmp_path, drawings):
    app = make_app(DATA_DIR=tmp_path / "var", LEARNING=True, LEARNER="process", LEARN_WAIT_SECONDS=0.3)
    client = app.test_client()
    queued = []
    for label, url in drawings[:3]:  # no learner running: saved, answered at once, not lost
        reply = client.post("/api/correct", json={"image": url, "label": label}).get_json()
        assert (reply["stored"], reply["learned"], reply["status"]) == (True, False, "queued")
        queued.append(reply["sample_id"])

    learner = _learner(tmp_path / "var")
    try:
        rows = _settled(app, 3)
        assert [row["status"] for row in rows] == ["learned"] * 3
        threads = os.listdir(f"/proc/{learner.pid}/task")  # TensorFlow's and BLAS's pools included: web preempts all
        assert len(threads) > 2 and {os.getpriority(os.PRIO_PROCESS, int(t)) for t in threads} == {19}
        with app.app_context():
            versions = runtime().learner.versions.read().versions
        assert [v["sample_id"] for v in versions] == queued  # learned in arrival order, never twice
        assert [row["learned_version"] for row in rows] == [1, 2, 3]
        # the learner is idle and warm now: a correction is answered with its outcome (a web process that waits
        # longer than the first one, since a test machine's other work may slow the low-priority learner)
        waiting = make_app(DATA_DIR=tmp_path / "var", LEARNING=True, LEARNER="process", LEARN_WAIT_SECONDS=10)
        live = waiting.test_client().post("/api/correct", json={"image": drawings[3][1],
                                                                "label": drawings[3][0]}).get_json()
        assert live["learned"] is True and live["model_version"]["cnn_online"] == live["after"]["model_version"][
            "cnn_online"] >= 4
    finally:
        learner.terminate()
        learner.wait(timeout=30)
    stored = [json.loads(p.read_text()) for p in (tmp_path / "var" / "samples").rglob("*.json")]
    assert {m["id"] for m in stored} >= set(queued) and all(m["status"] == "learned" for m in stored)


def test_a_killed_learner_resumes_at_the_oldest_pending_sample_and_learns_nothing_twice(make_app, tmp_path,
                                                                                        drawings):
    app = make_app(DATA_DIR=tmp_path / "var", LEARNING=True, LEARNER="process", LEARN_WAIT_SECONDS=0)
    client = app.test_client()
    for label, url in drawings:
        assert client.post("/api/correct", json={"image": url, "label": label}).get_json()["status"] == "queued"
    learner = _learner(tmp_path / "var")
    with app.app_context():
        index = runtime().index
        while len(index.pending(100)) > len(drawings) - 2:  # kill -9 as soon as it has learned two
            assert learner.poll() is None
            time.sleep(0.005)
        learner.send_signal(signal.SIGKILL)
        learner.wait(timeout=30)
        left = len(index.pending(100))
    assert 0 < left <= len(drawings) - 2  # killed mid-queue
    learner = _learner(tmp_path / "var")
    try:
        rows = _settled(app, len(drawings))
    finally:
        learner.terminate()
        learner.wait(timeout=30)
    versions = VersionStore(LocalStorage(tmp_path / "var"), keep=50).read().versions
    assert [row["status"] for row in rows] == ["learned"] * len(drawings)
    assert [v["sample_id"] for v in versions] == [row["id"] for row in rows]  # each once, in arrival order
    assert [row["learned_version"] for row in rows] == [v["version"] for v in versions]


def test_a_step_published_before_a_crash_is_not_taken_again(make_app, tmp_path, drawings):
    """The learner died after publishing a version and before rewriting the sample's status."""
    app = make_app(DATA_DIR=tmp_path / "var", LEARNING=True, LEARNER="process", LEARN_WAIT_SECONDS=0)
    client = app.test_client()
    label, url = drawings[0]
    sample_id = client.post("/api/correct", json={"image": url, "label": label}).get_json()["sample_id"]
    with app.app_context():
        from app.config import settings
        from app.runtime import learning_queue, reference_digits

        state = runtime()
        queue = learning_queue(settings(), state.samples.storage, state.samples, state.index,
                               reference_digits(settings())[0])
        row = state.index.pending()[0]
        digit = normalise(ink_map(open_image(state.samples.storage.get(row["png_key"]))))
        queue.learner.learn(digit, label, {"sample_id": sample_id, "label": label, "public": False}).result()  # crash
        assert queue.learn_next() is True
        queue.settle()
        assert len(queue.learner.versions.read().versions) == 1  # no second step
        assert state.index.get(sample_id)["status"] == "learned" and state.index.pending() == []


def test_preparing_the_learner_at_start_changes_no_weight_and_writes_no_version(make_app, tmp_path):
    app = make_app(DATA_DIR=tmp_path / "var", LEARNING=True, LEARNER="process")
    with app.app_context():
        from app.config import settings
        from app.runtime import learning_queue, reference_digits

        state = runtime()
        learner = learning_queue(settings(), state.samples.storage, state.samples, state.index,
                                 reference_digits(settings())[0]).learner
        held = {name: [w.copy() for w in learner.ensemble.models[name].online_weights()] for name in ONLINE}
        learner.prepare()  # takes one trial step to trace TensorFlow's functions, and undoes it
        assert learner.version == 0 and learner.versions.read().latest == 0
        for name, weights in held.items():
            now = learner.ensemble.models[name].online_weights()
            assert all(np.array_equal(a, b) for a, b in zip(now, weights, strict=True))
