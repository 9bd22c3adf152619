"""Soak: the Procfile's processes, many clients, an S3 outage, a killed web worker and a killed learner.

    .venv/bin/python bench/soak.py [--seconds 120] [--workers 2] [--clients 16] [--outage 30] [--think 0.5]

As the Procfile runs them, on loopback: gunicorn (gunicorn.conf.py: N gthread workers serving in NumPy,
DIGITDRAW_LEARNER=process) and one learner process (`flask --app app learn`), backed by a moto S3 server
behind a relay that the run switches off for `--outage` seconds in the middle. One web worker is
SIGKILLed at a quarter of the run and the learner at 40 %, while corrections are in flight; the learner
is started again two seconds later, as a process manager would. Clients send held-out pendigits
drawings: 80 % predictions, 20 % corrections with the true label, each client pausing a random time of mean
`--think` seconds between its requests, as a person drawing does (the page asks 300 ms after the pen lifts);
`--think 0` makes every client send back to back, which saturates the CPUs and measures queueing, not serving.
Once the learner has decided on
every stored correction, it checks, against S3 itself:
- every acknowledged correction is stored (lost samples = 0); extra stored ones can only come
  from requests the kill cut off before they were answered;
- every sample marked learned has exactly one version naming it (lost and doubled steps = 0), and
  every version loads;
- no 5xx.
Prints the counts, throughput and p50/p99 as JSON; exits 1 if anything was lost.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.offline import pendigits  # noqa: E402
from app.online.versions import BASELINE, VersionStore  # noqa: E402
from app.reading.ensemble import SHIPPED  # noqa: E402
from app.reading.model_files import load_for_serving  # noqa: E402
from app.samples.index import SampleIndex  # noqa: E402
from app.samples.s3 import S3Storage  # noqa: E402
from app.samples.store import SampleStore  # noqa: E402
from tests.s3server import FlakyProxy, free_port, moto_client  # noqa: E402

BUCKET = "digitdraw-soak"
SETTLE_SECONDS = 5  # after a kill, a restart or the outage: latencies then are reported apart
KEEP_VERSIONS = 100_000  # every version's record stays, so each learned sample's step can be accounted for


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: dict[int, int] = field(default_factory=dict)
    cut: int = 0  # requests with no answer (the killed worker's)
    # per request: when it was sent (time.monotonic) and how long it took
    latencies: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: {"predict": [], "correct": []})
    acknowledged: set[str] = field(default_factory=set)
    spooled: int = 0
    accepted: int = 0

    def record(self, kind: str, status: int, sent: float, seconds: float, body: dict) -> None:
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.latencies[kind].append((sent, seconds))
            if kind == "correct" and status == 200:
                self.acknowledged.add(body["sample_id"])
                self.spooled += body["stored"] == "spooled"
                self.accepted += body["learned"]


def post(port: int, path: str, body: bytes) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", path, body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def client_loop(port: int, drawings: list[tuple[int, str]], stop: threading.Event, tally: Tally, seed: int,
                think: float) -> None:
    rng = random.Random(seed)
    while not stop.wait(rng.expovariate(1 / think) if think > 0 else 0):
        label, url = rng.choice(drawings)
        kind = "correct" if rng.random() < 0.2 else "predict"
        body = {"image": url, "label": label, "consent": True} if kind == "correct" else {"image": url}
        sent, start = time.monotonic(), time.perf_counter()
        try:
            status, reply = post(port, f"/api/{kind}", json.dumps(body).encode())
        except (OSError, http.client.HTTPException):
            with tally.lock:
                tally.cut += 1
            continue
        tally.record(kind, status, sent, time.perf_counter() - start, reply)


def wait_until(check, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return False


def health(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/api/health")
        return connection.getresponse().status == 200
    except OSError:
        return False


def worker_pids(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def percentiles(timed: list[tuple[float, float]], disturbed: list[tuple[float, float]] | None = None
                ) -> dict[str, float]:
    """p50/p99 of requests (sent, seconds); with `disturbed` windows, of those sent outside them only."""
    seconds = [took for sent, took in timed if not any(begin <= sent < end for begin, end in disturbed or [])]
    if not seconds:
        return {}
    ms = np.array(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 1), "p99_ms": round(float(np.percentile(ms, 99)), 1)}


def settled(index_url: str, stalled_seconds: float) -> bool:
    """Whether the learner decides on every stored correction: waiting as long as it keeps deciding (a
    backlog drains at its own pace), at most `stalled_seconds` without one decided."""
    index = SampleIndex(index_url)
    try:
        left, since = None, time.monotonic()
        while True:
            now = len(index.pending(limit=1_000_000))
            if now == 0:
                return True
            if now != left:
                left, since = now, time.monotonic()
            elif time.monotonic() - since > stalled_seconds:
                return False
            time.sleep(0.5)
    finally:
        index.close()


def verify(endpoint: str, prefix: str, tally: Tally) -> dict[str, object]:
    """Lost samples, and lost or doubled learning steps, from what S3 holds: every sample learned has exactly
    one version naming it, and no version names a sample twice."""
    client = moto_client(endpoint)
    metas = list(SampleStore(S3Storage(BUCKET, prefix, client)).all())
    stored = {meta["id"] for meta in metas}
    learned = {meta["id"] for meta in metas if meta.get("status") == "learned"}
    versions = VersionStore(S3Storage(BUCKET, prefix, client), keep=KEEP_VERSIONS)
    manifest = versions.read()
    named = [record["sample_id"] for record in manifest.versions]
    unloadable = 0
    shipped = dict(zip(SHIPPED, load_for_serving(ROOT / "models"), strict=True))
    nets, held = {name: net.copy() for name, net in shipped.items()}, BASELINE
    for record in manifest.versions:  # in order: each version is its parent plus one step, as a worker adopts it
        try:
            versions.bring(nets, shipped, held, manifest, record["version"])
            held = record["version"]
        except Exception:  # a version that does not load is exactly what this run looks for
            unloadable += 1
            nets, held = {name: net.copy() for name, net in shipped.items()}, BASELINE
    return {
        "corrections_acknowledged": len(tally.acknowledged),
        "of_which_spooled": tally.spooled,
        "learned_when_answered": tally.accepted,
        "samples_stored": len(stored),
        "lost_samples": len(tally.acknowledged - stored),
        "stored_without_answer": len(stored - tally.acknowledged),
        "samples_learned": len(learned),
        "corrections_decided": sum(meta.get("status", "pending") != "pending" for meta in metas),
        "versions": len(named),
        "lost_steps": len(learned - set(named)),  # marked learned, but no version took its step
        "doubled_steps": len(named) - len(set(named)),  # a sample stepped on twice
        "steps_unmarked": len(set(named) - learned),  # a step whose sample does not say so
        "versions_unloadable": unloadable,
    }


def start_learner(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "learn"], cwd=ROOT, env=env,
                            stderr=subprocess.DEVNULL)


def run(seconds: float, workers: int, clients: int, outage: float, think: float = 0.5) -> dict[str, object]:
    drawings = [(d.label, pendigits.data_url(image))
                for d, image in pendigits.canvas_drawings(pendigits.held_out(pendigits.parse())[:300])]
    moto_port, app_port = free_port(), free_port()
    prefix = f"soak-{int(time.time())}"
    with tempfile.TemporaryDirectory() as var:
        moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        endpoint = f"http://127.0.0.1:{moto_port}"
        wait_until(lambda: socket.socket().connect_ex(("127.0.0.1", moto_port)) == 0, 30)
        moto_client(endpoint).create_bucket(Bucket=BUCKET)
        proxy = FlakyProxy(moto_port)
        env = {**os.environ, "AWS_ENDPOINT_URL": proxy.endpoint, "AWS_ACCESS_KEY_ID": "soak",
               "AWS_SECRET_ACCESS_KEY": "soak", "AWS_DEFAULT_REGION": "us-east-1",
               "DIGITDRAW_S3_BUCKET": BUCKET, "DIGITDRAW_S3_PREFIX": prefix, "DIGITDRAW_DATA_DIR": var,
               "DIGITDRAW_RATE_LIMIT": "1000000/minute", "DIGITDRAW_LOG_LEVEL": "WARNING",
               "DIGITDRAW_KEEP_VERSIONS": str(KEEP_VERSIONS), "DIGITDRAW_LEARNER": "process"}
        server = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{app_port}",
                                   "app:create_app()"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
        learner = start_learner(env)
        try:
            if not wait_until(lambda: health(app_port), 180):
                raise RuntimeError("gunicorn did not come up")
            tally, stop = Tally(), threading.Event()
            threads = [threading.Thread(target=client_loop, args=(app_port, drawings, stop, tally, i, think))
                       for i in range(clients)]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            events: list[str] = []
            disturbed: list[tuple[float, float]] = []  # from each event to SETTLE_SECONDS after it
            kill_at, kill_learner_at, outage_at = seconds * 0.25, seconds * 0.4, seconds / 2 - outage / 2
            killed = learner_killed = outage_done = False
            while time.monotonic() - started < seconds:
                elapsed = time.monotonic() - started
                if not killed and elapsed >= kill_at:
                    victim = worker_pids(server.pid)[0]
                    os.kill(victim, signal.SIGKILL)
                    disturbed.append((time.monotonic(), time.monotonic() + SETTLE_SECONDS))
                    events.append(f"kill -9 web worker {victim} at {elapsed:.1f}s")
                    killed = True
                if not learner_killed and elapsed >= kill_learner_at:
                    learner.kill()
                    learner.wait()
                    disturbed.append((time.monotonic(), time.monotonic() + 2 + SETTLE_SECONDS))
                    events.append(f"kill -9 learner {learner.pid} at {elapsed:.1f}s")
                    time.sleep(2)
                    learner = start_learner(env)
                    events.append(f"learner started again at {time.monotonic() - started:.1f}s")
                    learner_killed = True
                if not outage_done and elapsed >= outage_at:
                    proxy.down()
                    disturbed.append((time.monotonic(), time.monotonic() + outage + SETTLE_SECONDS))
                    events.append(f"S3 down at {elapsed:.1f}s for {outage:.0f}s")
                    time.sleep(outage)
                    proxy.up = True
                    events.append(f"S3 back at {time.monotonic() - started:.1f}s")
                    outage_done = True
                time.sleep(0.2)
            stop.set()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
            spool = Path(var) / "spool"
            flushed = wait_until(lambda: not any(p.is_file() for p in spool.rglob("*.json")), 90)
            drained = settled(f"sqlite:///{Path(var) / 'digitdraw.db'}", 60)
            busy = time.monotonic() - started
            learner.terminate()  # it finishes its step first: what is checked below is then final
            learner.wait(timeout=60)
            report: dict[str, object] = {
                "workers": workers, "clients": clients, "think_s": think, "seconds": round(elapsed, 1),
                "events": events, "away_from_events": f"sent before an event or {SETTLE_SECONDS} s after it",
                "requests": sum(tally.statuses.values()), "statuses": tally.statuses, "cut_by_kill": tally.cut,
                "server_errors": sum(n for status, n in tally.statuses.items() if status >= 500),
                "requests_per_s": round(sum(tally.statuses.values()) / elapsed, 1),
                "predict": percentiles(tally.latencies["predict"]),
                "correct": percentiles(tally.latencies["correct"]),
                "predict_away_from_events": percentiles(tally.latencies["predict"], disturbed),
                "correct_away_from_events": percentiles(tally.latencies["correct"], disturbed),
                "spool_flushed": flushed,
                "learner_drained": drained,
            }
            report.update(verify(endpoint, prefix, tally))
            report["learner_decided_per_s"] = round(report["corrections_decided"] / busy, 1)
            return report
        finally:
            learner.terminate()
            learner.wait(timeout=60)
            server.terminate()
            server.wait(timeout=60)
            moto.terminate()
            moto.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--outage", type=float, default=30)
    parser.add_argument("--think", type=float, default=0.5, help="mean seconds a client waits between requests")
    args = parser.parse_args()
    report = run(args.seconds, args.workers, args.clients, args.outage, args.think)
    print(json.dumps(report, indent=2))
    bad = (report["lost_samples"] or report["lost_steps"] or report["doubled_steps"] or report["steps_unmarked"]
           or report["server_errors"] or report["versions_unloadable"])
    sys.exit(1 if bad or not report["spool_flushed"] or not report["learner_drained"] else 0)


if __name__ == "__main__":
    main()
