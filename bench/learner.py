"""How fast the one learner decides corrections, and how much it writes per version (issue 13).

    .venv/bin/python bench/learner.py [--corrections 120] [--compare DIR] [--json build/learner.json]

Corrections of held-out pendigits drawings (every fifth with a wrong label, as careless or hostile
people send) are stored through `/api/correct` with learning left to a learner process, so they wait
as `pending` in the index; then one learning queue, as `flask --app app learn` runs it, drains them.
Prints corrections decided per second, p50/p99 per correction, and the bytes each version wrote.
`--compare DIR` measures an older checkout first (one with a learner process), with its own copy of this script,
in a subprocess, on the same drawings, back to back.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(corrections: int) -> dict[str, object]:
    """Run in the checkout under test (its own `app` package)."""
    os.environ.setdefault("DIGITDRAW_LOG_LEVEL", "WARNING")
    sys.path.insert(0, os.getcwd())
    from app import create_app
    from app.config import settings
    from app.offline import pendigits
    from app.runtime import learning_queue, runtime
    from bench.predict import percentiles

    data = Path(tempfile.mkdtemp(prefix="digitdraw-learner-"))
    app = create_app({"MODEL_DIR": Path("models").resolve(), "DATA_DIR": data, "LEARNING": True,
                      "LEARNER": "process", "LEARN_WAIT_SECONDS": 0, "RATE_LIMIT": "1000000/minute"})
    client = app.test_client()
    shared = Path(os.getcwd()).parent / "shared" / "pendigits" / "pendigits-orig.tra"
    digits = pendigits.held_out(pendigits.parse(shared))[:corrections]
    for n, (digit, image) in enumerate(pendigits.canvas_drawings(digits)):
        label = (digit.label + 1) % 10 if n % 5 == 4 else digit.label
        reply = client.post("/api/correct", json={"image": pendigits.data_url(image), "label": label})
        assert reply.status_code == 200 and reply.get_json()["status"] == "queued", reply.get_json()
    with app.app_context():
        state = runtime()
        queue = learning_queue(settings(), state.samples.storage, state.samples, state.index, state.learner.reference)
        queue.learner.prepare()  # once at start, as the learner process does
        spent = []
        started = time.perf_counter()
        while True:
            begin = time.perf_counter()
            if not queue.learn_next():
                break
            spent.append(time.perf_counter() - begin)
        queue.settle()
        wall = time.perf_counter() - started
        statuses = [row["status"] for row in state.index.rows()]
    sizes: dict[str, list[int]] = {}
    for path in (data / "models" / "online").rglob("*.npz"):
        sizes.setdefault(path.name, []).append(path.stat().st_size)
    versions = sum(status == "learned" for status in statuses)
    written = sum(sum(found) for found in sizes.values())
    return {"corrections": len(spent), "seconds": round(wall, 2), "per_second": round(len(spent) / wall, 1),
            "per_correction_ms": percentiles(spent), "learned": versions,
            "quarantined": statuses.count("quarantined"),
            "files": {name: {"count": len(found), "mean_mb": round(sum(found) / len(found) / 1e6, 3)}
                      for name, found in sorted(sizes.items())},
            "mb_per_version_kept": round(written / max(1, sum(len(f) for f in sizes.values())) / 1e6, 3)}


def in_checkout(checkout: Path, corrections: int) -> dict[str, object]:
    """Measure `checkout` with its own copy of this script: how its learning queue is driven (its statuses written
    inline or in the background) is that checkout's, as its `flask --app app learn` does it."""
    script = checkout / "bench" / "learner.py"
    if not script.is_file():
        raise SystemExit(f"{checkout} has no bench/learner.py: it predates the learner process, nothing to compare")
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([sys.executable, str(script), "--corrections", str(corrections), "--json", out.name, "--here"],
                       cwd=checkout, check=True, env={**os.environ, "PYTHONPATH": str(checkout)})
        return json.loads(Path(out.name).read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corrections", type=int, default=120)
    parser.add_argument("--compare", type=Path, help="an older checkout to measure first")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--here", action="store_true", help=argparse.SUPPRESS)  # the subprocess of in_checkout
    args = parser.parse_args()
    if args.here:
        args.json.write_text(json.dumps(measure(args.corrections)))
        return
    runs = {}
    if args.compare:
        runs["before"] = in_checkout(args.compare.resolve(), args.corrections)
    runs["after" if args.compare else "this checkout"] = in_checkout(ROOT, args.corrections)
    for name, run in runs.items():
        latency = run["per_correction_ms"]
        print(f"{name:14s} {run['corrections']} corrections in {run['seconds']} s: {run['per_second']}/s "
              f"(p50 {latency['p50_ms']} ms, p99 {latency['p99_ms']} ms); {run['learned']} learned, "
              f"{run['quarantined']} quarantined; files {run['files']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(runs, indent=1))


if __name__ == "__main__":
    main()
