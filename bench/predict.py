"""How fast is a prediction? Floor, in-process, and over HTTP against gunicorn on loopback.

    .venv/bin/python bench/predict.py [--requests 400] [--concurrency 8] [--workers 2]

- floor: decode + normalise the PNG and the four forward passes, nothing else;
- in-process: the whole /api/predict through Flask's test client (JSON, preview, response); then
  again for a person with their own last layer (20 corrections learned), which reads too;
- HTTP: the same endpoint served by gunicorn (N workers, 1 TF thread each) on 127.0.0.1,
  first one request at a time (latency), then `--concurrency` connections at once (throughput, with
  wrk when it is installed — `apt-get install wrk` — else Python threads, which undercount).
Inputs are held-out pendigits drawn exactly like the page's canvas.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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


def post(port: int, body: bytes) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", "/api/predict", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status


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


def start_gunicorn(port: int, workers: int) -> subprocess.Popen:
    command = [str(ROOT / ".venv/bin/gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}", "app:create_app()"]
    server = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/api/health")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise RuntimeError("gunicorn did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    digits = pendigits.held_out(pendigits.parse())[:100]
    urls = [pendigits.data_url(image) for _, image in pendigits.canvas_drawings(digits)]
    bodies = [json.dumps({"image": url}).encode() for url in urls]
    var = tempfile.TemporaryDirectory()  # corrections below must not land in the checkout's ./var
    app = create_app({"DATA_DIR": var.name})
    mean_size = np.mean([len(u) for u in urls])
    report: dict[str, object] = {"inputs": f"{len(urls)} held-out pendigits, 280×280 PNG, mean {mean_size:.0f} B"}

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

    port = free_port()
    server = start_gunicorn(port, args.workers)
    try:
        statuses = []
        report["http_sequential"] = percentiles(timed(lambda i: statuses.append(post(port, bodies[i % len(bodies)])),
                                                      args.requests))
        report["http_throughput"] = {"workers": args.workers, "concurrency": args.concurrency}
        if shutil.which("wrk"):
            report["http_throughput"] |= wrk_throughput(port, bodies[0], args.concurrency, seconds=10)
        else:  # a Python client costs the server CPU it shares: this undercounts
            total = args.requests * 5
            start = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                statuses += pool.map(lambda i: post(port, bodies[i % len(bodies)]), range(total))
            report["http_throughput"] |= {"client": "python threads", "requests": total,
                                          "requests_per_s": round(total / (time.perf_counter() - start), 1)}
        report["non_200"] = sum(status != 200 for status in statuses)
    finally:
        server.terminate()
        server.wait(timeout=30)
    report["http_p50_over_floor"] = round(report["http_sequential"]["p50_ms"] / report["floor"]["p50_ms"], 2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
