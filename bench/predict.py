"""How fast is a prediction, and what does serving cost? Floor, in-process, and a served stack on loopback.

    .venv/bin/python bench/predict.py [--requests 2000] [--concurrency 8] [--workers 2] [--corrections 100]
    .venv/bin/python bench/predict.py --compare ../wt-before --json build/predict.json

- floor: decode + normalise the PNG and the four forward passes, nothing else;
- in-process: the whole /api/predict through Flask's test client (JSON, preview, response); then
  again for a person with their own last layer (20 corrections learned), which reads too;
- served: this checkout as its Procfile runs it — gunicorn (gunicorn.conf.py: N gthread workers that
  serve in NumPy) and the learner process (`flask --app app learn`), both DIGITDRAW_LEARNER=process —
  on 127.0.0.1, with a data directory of its own:
  - start: spawn → the first 200 from /api/health;
  - a correction alone: 20 posted one at a time, 0.5 s apart (a quiet site: the learner idle in between);
  - predict one request at a time, idle, then while two clients stream corrections (POST /api/correct),
    `--requests` each: a p99 of 2,000 is their 20th slowest, where one of 400 (their 4th slowest) swung the
    loaded p99 / idle p50 ratio between 2.75 and 3.59 over 11 runs of the same code;
  - PSS and RSS (/proc/<pid>/smaps_rollup) of each worker (the gunicorn master's children), the master
    and the learner, after warm-up and again after the correction stream;
  - throughput with `--concurrency` connections (wrk when it is installed — `apt-get install wrk` —
    else Python threads, which undercount);
  - a replaced worker: `kill -TERM`, then `kill -9`, of one worker → the first /api/health answered by
    its replacement (the other workers are SIGSTOPped meanwhile, so only the new one can accept);
  - the learner: `--corrections` corrections posted by two clients with DIGITDRAW_LEARN_WAIT_SECONDS=0,
    and the time until the sample index has none pending (corrections/s it sustains).
- `--compare DIR`: the same for an older checkout (e.g. `git worktree add ../wt-before 17347f9`) as its
  Procfile ran it: sync gunicorn workers, each with TensorFlow, learning inside /api/correct (its learner
  figure is then corrections/s answered, each trained in the request); it needs `--before-mnist`.
  Both stacks run back to back in one invocation, before first, then a before/after table with the
  issue's targets (reported, not asserted).
  Then both are started together and wrk runs against each in turn, `--rounds` times: the machine's
  speed drifts by ±20 % within minutes, so the table's throughput ratio is also given as the median of
  the rounds' ratios, each taken within one round.
Inputs are held-out pendigits drawn exactly like the page's canvas. Figures on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DIGITDRAW_LOG_LEVEL", "WARNING")
os.environ.setdefault("DIGITDRAW_RATE_LIMIT", "1000000/minute")  # one client sends everything
os.environ.setdefault("DIGITDRAW_TF_THREADS", "1")

from app import create_app  # noqa: E402
from app.offline import pendigits  # noqa: E402
from app.reading.ensemble import MODEL_NAMES  # noqa: E402
from app.reading.imaging import preprocess  # noqa: E402
from app.runtime import ensemble  # noqa: E402
from app.samples.index import SampleIndex  # noqa: E402

BIN = Path(sys.executable).parent  # the virtual environment's gunicorn and flask, whichever checkout they serve


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 3), "p99_ms": round(float(np.percentile(ms, 99)), 3)}


def timed(call: Callable[[int], object], count: int) -> list[float]:
    for i in range(20):  # warm-up: traces, caches
        call(i)
    samples = []
    for i in range(count):
        start = time.perf_counter()
        call(i)
        samples.append(time.perf_counter() - start)
    return samples


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(port: int, body: bytes, path: str = "/api/predict", timeout: float = 30) -> int:
    return request(port, "POST", path, body, timeout)[0]


def request(port: int, method: str, path: str, body: bytes | None = None, timeout: float = 30) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def healthy(port: int, timeout: float = 2) -> bool:
    try:
        return request(port, "GET", "/api/health", timeout=timeout)[0] == 200
    except (OSError, http.client.HTTPException):
        return False


def wrk_throughput(port: int, body: bytes, connections: int, seconds: int) -> dict[str, object]:
    """Requests/s measured by wrk (C, one thread), so the load generator steals little of the server's CPU."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                     f"wrk.body = [==[{body.decode()}]==]\n")
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script.name,
                          f"http://127.0.0.1:{port}/api/predict"], capture_output=True, text=True, check=True).stdout
    Path(script.name).unlink()
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p50, p99 = (re.search(rf"\s{q}%\s+([\d.]+\w+)", out).group(1) for q in ("50", "99"))
    return {"client": "wrk", "seconds": seconds, "requests_per_s": rate, "p50": p50, "p99": p99,
            "non_2xx": int(errors.group(1)) if errors else 0}


def worker_pids(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
    return sorted(int(pid) for pid in out.split())


def memory(pid: int) -> dict[str, float]:
    """Proportional (shared pages split between the processes that map them) and resident set size, in MB."""
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    kb = {key: int(re.search(rf"^{key}:\s+(\d+) kB", rollup, re.M).group(1)) for key in ("Pss", "Rss")}
    return {"pss_mb": round(kb["Pss"] / 1024, 1), "rss_mb": round(kb["Rss"] / 1024, 1)}


@dataclass
class Stack:
    """One checkout served on loopback the way its Procfile runs it, with a data directory of its own."""

    name: str
    root: Path
    learner_process: bool  # the new layout: web with DIGITDRAW_LEARNER=process and `flask --app app learn`
    workers: int
    env: dict[str, str]
    var: Path
    port: int = 0
    web: subprocess.Popen | None = None
    learner: subprocess.Popen | None = None
    logs: list = field(default_factory=list)

    def start_web(self, **extra: str) -> float:
        """Spawn gunicorn; seconds until /api/health answers 200."""
        self.port = free_port()
        log = open(self.var / f"web-{self.port}.log", "w")  # noqa: SIM115 — closed in stop()
        self.logs.append(log)
        started = time.perf_counter()
        self.web = subprocess.Popen([str(BIN / "gunicorn"), "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}",
                                     "app:create_app()"], cwd=self.root, env={**self.env, **extra},
                                    stdout=log, stderr=log)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.web.poll() is not None:
                raise RuntimeError(f"{self.name}: gunicorn exited; see {log.name}")
            if healthy(self.port):
                return time.perf_counter() - started
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}: gunicorn did not come up")

    def start_learner(self) -> None:
        log = open(self.var / "learner.log", "w")  # noqa: SIM115 — closed in stop()
        self.logs.append(log)
        # INFO, so that the log says when it has started learning
        self.learner = subprocess.Popen([str(BIN / "flask"), "--app", "app", "learn"], cwd=self.root,
                                        env={**self.env, "DIGITDRAW_LOG_LEVEL": "INFO"}, stdout=log, stderr=log)

    def wait_learner(self, seconds: float = 300) -> float:
        """Seconds until the learner's log says it has started (TensorFlow imported, nets loaded, lock taken)."""
        started = time.perf_counter()
        deadline = time.monotonic() + seconds
        log = self.var / "learner.log"
        while time.monotonic() < deadline:
            if self.learner.poll() is not None:
                raise RuntimeError(f"{self.name}: the learner exited; see {log}")
            if "learner started" in log.read_text():
                return time.perf_counter() - started
            time.sleep(0.1)
        raise RuntimeError(f"{self.name}: the learner did not start")

    def pids(self) -> list[int]:
        return worker_pids(self.web.pid)

    def memory(self) -> dict[str, object]:
        found: dict[str, object] = {"workers": [memory(pid) for pid in self.pids()], "master": memory(self.web.pid)}
        if self.learner is not None:
            found["learner"] = memory(self.learner.pid)
        return found

    def stop_web(self) -> None:
        if self.web is not None and self.web.poll() is None:
            self.web.terminate()
            self.web.wait(timeout=60)

    def stop(self) -> None:
        self.stop_web()
        if self.learner is not None and self.learner.poll() is None:
            self.learner.terminate()
            try:
                self.learner.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.learner.kill()
        for log in self.logs:
            log.close()


def replacement(stack: Stack, sig: signal.Signals) -> dict[str, object]:
    """Kill one worker with `sig`; seconds until the master has spawned a new one and until it answers.

    The other workers are stopped meanwhile (SIGSTOP, well inside gunicorn's timeout), so the health request,
    sent as soon as the victim is gone, waits in the listen backlog until the replacement accepts it.
    """
    before = stack.pids()
    victim, others = before[0], before[1:]
    for pid in others:
        os.kill(pid, signal.SIGSTOP)
    try:
        started = time.perf_counter()
        os.kill(victim, sig)
        spawned = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the replacement takes far longer to load than this loop to see it
            now = stack.pids()
            if spawned is None and set(now) - set(before):
                spawned = time.perf_counter() - started
            if spawned is not None and victim not in now:
                break
            time.sleep(0.01)
        status = request(stack.port, "GET", "/api/health", timeout=120)[0]
        answered = time.perf_counter() - started
    finally:
        for pid in others:
            os.kill(pid, signal.SIGCONT)
    return {"signal": sig.name, "spawned_s": None if spawned is None else round(spawned, 3),
            "answered_s": round(answered, 3), "status": status}


def stream_corrections(port: int, drawings: list[tuple[int, bytes]], stop: threading.Event, seed: int,
                       tally: dict[str, list]) -> None:
    """POST held-out drawings with their true label to /api/correct until `stop` is set."""
    rng = random.Random(seed)
    while not stop.is_set():
        start = time.perf_counter()
        try:
            status, body = post_json(port, "/api/correct", rng.choice(drawings)[1])
        except (OSError, http.client.HTTPException) as error:
            tally["errors"].append(type(error).__name__)
            continue
        tally["seconds"].append(time.perf_counter() - start)
        tally["outcomes"].append(outcome(status, body))


def post_json(port: int, path: str, body: bytes) -> tuple[int, dict]:
    status, raw = request(port, "POST", path, body, timeout=120)
    return status, json.loads(raw or b"{}")


def outcome(status: int, body: dict) -> str:
    """What became of a correction: the new API's status, the old one's learned flag."""
    if status != 200:
        return str(status)
    if "status" in body:
        return body["status"]
    return "learned" if body.get("learned") else "not_learned"


def drain(stack: Stack, seconds: float = 600) -> dict[str, int]:
    """Wait until the sample index has no pending sample; every sample's status then."""
    index = SampleIndex(f"sqlite:///{stack.var / 'digitdraw.db'}")
    try:
        deadline = time.monotonic() + seconds
        while index.pending(limit=1) and time.monotonic() < deadline:
            time.sleep(0.05)
        return dict(Counter(row["status"] for row in index.rows()))
    finally:
        index.close()


def correction_alone(port: int, drawings: list[tuple[int, bytes]], count: int = 20, gap_s: float = 0.5
                     ) -> dict[str, float]:
    """Corrections posted one at a time, `gap_s` apart: what a person waits for on a quiet site, where the learner
    is idle between corrections and how soon it looks at the index counts. A failed one is counted, not timed."""
    seconds, failed = [], 0
    for i in range(count):
        time.sleep(gap_s)
        start = time.perf_counter()
        status, _ = post_json(port, "/api/correct", drawings[i % len(drawings)][1])
        if status == 200:
            seconds.append(time.perf_counter() - start)
        else:
            failed += 1
    return percentiles(seconds) | {"non_200": failed}


def learner_rate(stack: Stack, drawings: list[tuple[int, bytes]], count: int) -> dict[str, object]:
    """Corrections/s learned: posted by two clients; for the learner process, until none is pending."""
    start = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda i: post_json(stack.port, "/api/correct", drawings[i % len(drawings)][1]),
                                range(count)))
    posted = time.perf_counter() - start
    found: dict[str, object] = {"corrections": count, "posted_s": round(posted, 2),
                                "answers": dict(Counter(outcome(*answer) for answer in answers))}
    if stack.learner_process:
        found["statuses"] = drain(stack)
    elapsed = time.perf_counter() - start
    return found | {"seconds": round(elapsed, 2), "corrections_per_s": round(count / elapsed, 2)}


def measure(stack: Stack, args: argparse.Namespace, bodies: list[bytes],
            drawings: list[tuple[int, bytes]]) -> dict[str, object]:
    """Every served figure of one stack; the stack is stopped afterwards."""
    report: dict[str, object] = {"root": str(stack.root), "workers": stack.workers,
                                 "layout": "gthread web + learner process" if stack.learner_process
                                 else "sync web, learning in /api/correct"}
    try:
        if stack.learner_process:
            stack.start_learner()  # the Procfile starts both at once
        report["start_s"] = round(stack.start_web(), 3)
        if stack.learner_process:
            report["learner_start_s"] = round(stack.wait_learner(), 3)
        statuses: list[int] = []
        for i in range(40):  # warm-up: both workers, predictions and a few corrections (TF traces its step)
            statuses.append(post(stack.port, bodies[i % len(bodies)]))
        for i in range(6):
            statuses.append(post_json(stack.port, "/api/correct", drawings[i][1])[0])
        report["memory_after_warm_up"] = stack.memory()

        report["http_sequential"] = percentiles(
            timed(lambda i: statuses.append(post(stack.port, bodies[i % len(bodies)])), args.requests))
        report["correction_alone"] = correction_alone(stack.port, drawings)

        stop, tally = threading.Event(), {"seconds": [], "outcomes": [], "errors": []}
        clients = [threading.Thread(target=stream_corrections, args=(stack.port, drawings, stop, seed, tally))
                   for seed in range(2)]
        streaming = time.perf_counter()
        for client in clients:
            client.start()
        time.sleep(1)
        try:
            loaded = timed(lambda i: statuses.append(post(stack.port, bodies[i % len(bodies)])), args.requests)
        finally:
            stop.set()
            for client in clients:
                client.join()
        streamed = time.perf_counter() - streaming
        report["http_while_correcting"] = percentiles(loaded) | {
            "seconds": round(streamed, 2), "corrections": len(tally["seconds"]),
            "corrections_per_s": round(len(tally["seconds"]) / streamed, 2),
            "correction": percentiles(tally["seconds"]),
            "outcomes": dict(Counter(tally["outcomes"])), "client_errors": len(tally["errors"])}
        report["loaded_p99_over_idle_p50"] = round(report["http_while_correcting"]["p99_ms"]
                                                   / report["http_sequential"]["p50_ms"], 2)
        if stack.learner_process:
            drain(stack)  # the learner finishes the last corrections before the throughput run
        report["memory_after_corrections"] = stack.memory()

        report["http_throughput"] = {"workers": stack.workers, "concurrency": args.concurrency}
        if shutil.which("wrk"):
            report["http_throughput"] |= wrk_throughput(stack.port, bodies[0], args.concurrency, args.wrk_seconds)
        else:  # a Python client costs the server CPU it shares: this undercounts
            total = args.requests * 5
            start = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                statuses += pool.map(lambda i: post(stack.port, bodies[i % len(bodies)]), range(total))
            report["http_throughput"] |= {"client": "python threads", "requests": total,
                                          "requests_per_s": round(total / (time.perf_counter() - start), 1)}
        report["non_200"] = sum(status != 200 for status in statuses)

        report["replacement"] = [replacement(stack, signal.SIGTERM), replacement(stack, signal.SIGKILL)]

        if stack.learner_process:  # the web answers at once; the learner works through the queue
            stack.stop_web()
            stack.start_web(DIGITDRAW_LEARN_WAIT_SECONDS="0")
        report["learner"] = learner_rate(stack, drawings, args.corrections)
    finally:
        stack.stop()
    return report


def alternated_throughput(stacks: list[Stack], body: bytes, args: argparse.Namespace) -> dict[str, object]:
    """wrk against each stack in turn, `args.rounds` times, all of them up at once (each as its Procfile runs it,
    learner included): this machine's speed drifts by ±20 % within minutes, so a ratio of two runs minutes apart
    says little; within one round both see the same machine, and the median of the rounds' ratios is reported."""
    rates: dict[str, list[float]] = {stack.name: [] for stack in stacks}
    try:
        for stack in stacks:
            if stack.learner_process:
                stack.start_learner()
            stack.start_web()
            for _ in range(40):
                post(stack.port, body)
        for _ in range(args.rounds):
            for stack in stacks:
                rates[stack.name].append(
                    wrk_throughput(stack.port, body, args.concurrency, args.wrk_seconds)["requests_per_s"])
    finally:
        for stack in stacks:
            stack.stop()
    before, after = rates["before"], rates["after"]
    ratios = [round(a / b, 2) for a, b in zip(after, before, strict=True)]
    return {"requests_per_s": rates, "after_over_before": ratios,
            "median_after_over_before": round(float(np.median(ratios)), 2)}


TARGETS = [  # the (13, item 8): reported, never asserted
    ("web worker PSS after warm-up, MB (max)", "<=", 200),
    ("new worker answers, s (max of TERM, -9)", "<=", 3),
    ("predict p99 while correcting / idle p50", "<=", 3),
    ("throughput, requests/s (after / before)", ">=", 1.5),
    ("throughput, after / before, median of alternated rounds", ">=", 1.5),
    ("learner, corrections/s", ">=", 20),
]


def figures(served: dict[str, object]) -> dict[str, object]:
    """The rows of the table, from one stack's report."""
    pss = [w["pss_mb"] for w in served["memory_after_corrections"]["workers"]]
    rss = [w["rss_mb"] for w in served["memory_after_corrections"]["workers"]]
    learner = served["memory_after_corrections"].get("learner")
    return {
        "start, s (spawn → first 200)": served["start_s"],
        "web worker PSS after warm-up, MB (max)": max(w["pss_mb"] for w in served["memory_after_warm_up"]["workers"]),
        "web worker PSS after corrections, MB (each)": " / ".join(f"{v:.0f}" for v in pss),
        "web worker RSS after corrections, MB (each)": " / ".join(f"{v:.0f}" for v in rss),
        "learner PSS / RSS, MB": f"{learner['pss_mb']:.0f} / {learner['rss_mb']:.0f}" if learner else "—",
        "new worker answers, s (max of TERM, -9)": max(r["answered_s"] for r in served["replacement"]),
        "new worker after TERM / -9, s": " / ".join(f"{r['answered_s']:.2f}" for r in served["replacement"]),
        "predict idle p50 / p99, ms": f"{served['http_sequential']['p50_ms']:.1f} / "
                                      f"{served['http_sequential']['p99_ms']:.1f}",
        "predict while correcting p50 / p99, ms": f"{served['http_while_correcting']['p50_ms']:.1f} / "
                                                  f"{served['http_while_correcting']['p99_ms']:.1f}",
        "predict p99 while correcting / idle p50": served["loaded_p99_over_idle_p50"],
        "corrections answered meanwhile, /s": served["http_while_correcting"]["corrections_per_s"],
        "correction alone (quiet site) p50 / p99, ms": f"{served['correction_alone']['p50_ms']:.0f} / "
                                                       f"{served['correction_alone']['p99_ms']:.0f}",
        "correction p50 / p99 meanwhile, ms": f"{served['http_while_correcting']['correction']['p50_ms']:.0f} / "
                                              f"{served['http_while_correcting']['correction']['p99_ms']:.0f}",
        "throughput, requests/s": served["http_throughput"]["requests_per_s"],
        "learner, corrections/s": served["learner"]["corrections_per_s"],
    }


def table(report: dict[str, object]) -> str:
    after = figures(report["after"])
    before = figures(report["before"]) if "before" in report else {}
    if before:
        after["throughput, requests/s (after / before)"] = round(
            after["throughput, requests/s"] / before["throughput, requests/s"], 2)
    if "alternated_throughput" in report:
        after["throughput, after / before, median of alternated rounds"] = (
            report["alternated_throughput"]["median_after_over_before"])
    targets = {name: (op, bound) for name, op, bound in TARGETS}
    rows = [("figure", "before", "after", "target", "after meets it")]
    for name, value in after.items():
        op, bound = targets.get(name, ("", None))
        met = "" if bound is None else ("yes" if (value <= bound if op == "<=" else value >= bound) else "NO")
        rows.append((name, str(before.get(name, "—")), str(value), f"{op} {bound}" if bound is not None else "",
                     met))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5,
                        help="with --compare and wrk: alternated wrk runs per stack, both stacks up at once")
    parser.add_argument("--corrections", type=int, default=100, help="posted for the learner's corrections/s")
    parser.add_argument("--compare", type=Path, help="an older checkout to measure first, as its Procfile ran it")
    parser.add_argument("--before-mnist", type=Path, default=ROOT.parent / "shared" / "mnist",
                        help="DIGITDRAW_MNIST_DIR for --compare (its learning needs MNIST)")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()

    digits = pendigits.held_out(pendigits.parse())[:100]
    urls = [pendigits.data_url(image) for _, image in pendigits.canvas_drawings(digits)]
    bodies = [json.dumps({"image": url}).encode() for url in urls]
    drawings = [(d.label, json.dumps({"image": url, "label": d.label}).encode())
                for d, url in zip(digits, urls, strict=True)]
    var = tempfile.TemporaryDirectory()  # corrections below must not land in the checkout's ./var
    app = create_app({"DATA_DIR": var.name})
    mean_size = np.mean([len(u) for u in urls])
    report: dict[str, object] = {"inputs": f"{len(urls)} held-out pendigits, 280×280 PNG, mean {mean_size:.0f} B",
                                 "cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()}

    with app.app_context():
        models = ensemble().models

        def floor(i: int) -> None:
            digit = preprocess(urls[i % len(urls)])[np.newaxis]
            for name in MODEL_NAMES:
                models[name].predict_proba(digit)

        report["floor"] = percentiles(timed(floor, args.requests))
    client = app.test_client()
    report["in_process"] = percentiles(
        timed(lambda i: client.post("/api/predict", data=bodies[i % len(bodies)], content_type="application/json"),
              args.requests)
    )
    person = "bench-person-0000"
    for digit, url in list(zip(digits, urls, strict=True))[:20]:  # someone the app has learned from
        client.post("/api/correct", json={"image": url, "label": digit.label, "person": person})
    report["in_process_with_own_layer"] = percentiles(
        timed(lambda i: client.post("/api/predict", json={"image": urls[i % len(urls)], "person": person}),
              args.requests)
    )

    base = {**os.environ, "DIGITDRAW_RATE_LIMIT": "1000000/minute", "DIGITDRAW_LOG_LEVEL": "WARNING"}
    stacks = []
    if args.compare:  # before first, then this checkout, back to back
        stacks.append(("before", args.compare.resolve(), False,
                       {"DIGITDRAW_MNIST_DIR": str(args.before_mnist.resolve())}))
    stacks.append(("after", ROOT, True, {"DIGITDRAW_LEARNER": "process"}))

    def stack(spec: tuple[str, Path, bool, dict[str, str]], data: str) -> Stack:
        name, root, learner_process, env = spec
        return Stack(name, root, learner_process, args.workers, {**base, **env, "DIGITDRAW_DATA_DIR": data}, Path(data))

    for spec in stacks:
        with tempfile.TemporaryDirectory() as data:
            report[spec[0]] = measure(stack(spec, data), args, bodies, drawings)
    if args.compare and args.rounds > 0 and shutil.which("wrk"):
        with tempfile.TemporaryDirectory() as before_data, tempfile.TemporaryDirectory() as after_data:
            up = [stack(spec, data) for spec, data in zip(stacks, (before_data, after_data), strict=True)]
            report["alternated_throughput"] = alternated_throughput(up, bodies[0], args)
    report["load_average_at_end"] = os.getloadavg()
    report["http_p50_over_floor"] = round(report["after"]["http_sequential"]["p50_ms"] / report["floor"]["p50_ms"], 2)
    print(json.dumps(report, indent=2))
    print(table(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
