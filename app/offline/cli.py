"""`flask --app app train | train-rejection | reference | evaluate | export`: reproducible training and reference
digits, the not-a-digit detector, the model card's figures, the dataset."""

from __future__ import annotations

import json
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
import numpy as np
from flask import Flask

from app.config import settings
from app.nets.strokes import STROKES_FILE
from app.offline import mnist, pendigits
from app.offline.evaluation import ensemble_accuracies
from app.offline.export import FORMATS, export, load_extra
from app.online.reference import CARD_FILE, REFERENCE_FILE, ReferenceDigits, sha256
from app.reading.ensemble import Ensemble
from app.reading.model_files import CNN_FILE, FNN_FILE, load_for_serving, load_shipped, load_strokes
from app.reading.rejection import REJECTION_FILE
from app.runtime import learning_queue, reference_digits, sample_store
from app.samples.backends import storage_from_settings
from app.samples.index import SampleIndex
from app.samples.reindex import reindex
from app.samples.store import SampleStore

if TYPE_CHECKING:
    from app.offline.training import History

def _scaled(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float32) / 255.0


def _measure(ensemble: Ensemble, data: mnist.Mnist, pen_digits: list[pendigits.PenDigit]) -> dict[str, dict]:
    figures = {"mnist_test": ensemble_accuracies(ensemble, _scaled(data.x_test), data.y_test)}
    held_out = pendigits.held_out(pen_digits)
    if held_out:
        x, y = pendigits.as_arrays(held_out)
        paths = pendigits.trajectories(held_out)
        figures["pendigits_held_out_writers"] = ensemble_accuracies(ensemble, x, y, trajectories=paths) | {
            "digits": len(y)}
    return figures


def _plot_curves(histories: dict[str, History], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for name, history in histories.items():
        epochs = range(1, len(history.loss) + 1)
        left.plot(epochs, history.loss, label=name)
        right.plot(epochs, [100 * a for a in history.val_accuracy], label=name)
    left.set(title="training loss (augmented batches)", xlabel="epoch", yscale="log")
    right.set(title="validation accuracy, % (5,000 held-out MNIST)", xlabel="epoch", ylim=(97, 100))
    for axis in (left, right):
        axis.legend()
        axis.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _recipe_options(command: Callable[..., None]) -> Callable[..., None]:
    """What `train` and `cross-validate` both take: the data, seed and epochs that make the recipe, with the same
    defaults, so that the cross-validation measures exactly what `train` ships."""
    for option in (click.option("--cnn-epochs", default=20, show_default=True),
                   click.option("--fnn-epochs", default=40, show_default=True),
                   click.option("--seed", default=1, show_default=True),
                   click.option("--data", "data_dir", default="data/mnist", type=click.Path(path_type=Path),
                                show_default=True)):
        command = option(command)
    return command


def register_commands(app: Flask) -> None:
    @app.cli.command("train")
    @_recipe_options
    @click.option("--out", default="models", type=click.Path(path_type=Path), show_default=True)
    @click.option("--pendigits", "pendigits_file", default=str(pendigits.DEFAULT_FILE), type=click.Path(path_type=Path))
    @click.option("--extra", "extra_dir", default=None, type=click.Path(path_type=Path, exists=True),
                  help="a folder written by `export --format npz`: collected drawings to train on too")
    def train(data_dir: Path, out: Path, seed: int, fnn_epochs: int, cnn_epochs: int, pendigits_file: Path,
              extra_dir: Path | None) -> None:
        """Train the three nets on MNIST (downloaded into --data if absent) and pendigits' training writers
        (1–24); write the learner's reference digits beside them."""
        from app.offline.stroke_training import train_strokes  # Keras: web processes register the command only
        from app.offline.training import TrainingSet, train_cnn, train_fnn

        data = mnist.load(data_dir)
        pen_digits = pendigits.parse(pendigits_file) if pendigits_file.exists() else []
        pen_train = [d for d in pen_digits if d.writer in pendigits.TRAIN_WRITERS]
        training = TrainingSet.of(data, pen_train, seed, load_extra(extra_dir) if extra_dir else None)
        x_fit, y_fit = training.without_writers()
        x_val, y_val = training.x_val, training.y_val
        out.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        fnn, fnn_history = train_fnn(x_fit, y_fit, x_val, y_val, seed=seed, epochs=fnn_epochs)
        fnn_seconds = time.monotonic() - started
        cnn, cnn_history = train_cnn(x_fit, y_fit, x_val, y_val, seed=seed, epochs=cnn_epochs)
        cnn_seconds = time.monotonic() - started - fnn_seconds
        strokes = train_strokes(pen_train, seed) if pen_train else None
        strokes_seconds = time.monotonic() - started - fnn_seconds - cnn_seconds
        fnn.save(out / FNN_FILE)
        cnn.save(out / CNN_FILE)
        if strokes is not None:
            strokes.save(out / STROKES_FILE)
        _plot_curves({"fnn": fnn_history, "cnn": cnn_history}, out / "training-curves.png")
        ReferenceDigits.write(data, out)
        card = {
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": "flask " + shlex.join(sys.argv[1:]),
            "seed": seed,
            "epochs": {"fnn": fnn_epochs, "cnn": cnn_epochs},
            "training_seconds": {"fnn": round(fnn_seconds), "cnn": round(cnn_seconds),
                                 "strokes": round(strokes_seconds)},
            "data": {
                "mnist_idx_sha256": data.checksums,
                "mnist_train_images": len(training.y_mnist),
                "mnist_validation_images": len(y_val),
                "pendigits_train_writers": sorted(pendigits.TRAIN_WRITERS) if pen_train else [],
                "pendigits_train_images": len(training.y_pen),
                "pendigits_held_out_writers": sorted(pendigits.HELD_OUT_WRITERS),
                "extra_images": len(training.y_extra),
            },
            "curves": {
                "fnn": {"loss": fnn_history.loss, "val_accuracy": fnn_history.val_accuracy},
                "cnn": {"loss": cnn_history.loss, "val_accuracy": cnn_history.val_accuracy},
            },
            "accuracy": _measure(replace(Ensemble.from_shipped(fnn, cnn), strokes=strokes), data, pen_digits),
            "files": {name: sha256(out / name) for name in (FNN_FILE, CNN_FILE, STROKES_FILE, REFERENCE_FILE)
                      if (out / name).exists()},
        }
        if pendigits_file.exists():
            card["data"]["pendigits_sha256"] = sha256(pendigits_file)
        (out / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n")
        click.echo(json.dumps(card["accuracy"], indent=2))

    @app.cli.command("cross-validate")
    @_recipe_options
    @click.option("--out", default="build/cross-validation", type=click.Path(path_type=Path), show_default=True)
    @click.option("--pendigits", "pendigits_file", default=str(pendigits.DEFAULT_FILE),
                  type=click.Path(path_type=Path, exists=True))
    @click.option("--models", "model_dir", default=None, type=click.Path(path_type=Path, exists=True,
                                                                         file_okay=False),
                  help="also record the figures in this folder's card.json (under cross_validation)")
    def cross_validate_command(data_dir: Path, out: Path, seed: int, fnn_epochs: int, cnn_epochs: int,
                               pendigits_file: Path, model_dir: Path | None) -> None:
        """Writer-grouped cross-validation of `train`'s recipe: 5 folds of 6 pendigits writers, each read by nets
        trained on MNIST and the other 24 writers; per-fold figures into --out/summary.json (resumable). The last
        fold learns from exactly the shipped nets' drawings."""
        from app.offline.crossval import cross_validate  # Keras, as `train`

        summary = cross_validate(mnist.load(data_dir), pendigits.parse(pendigits_file), out, seed=seed,
                                 fnn_epochs=fnn_epochs, cnn_epochs=cnn_epochs, progress=click.echo)
        if model_dir is not None:
            _add_to_card(model_dir, {"cross_validation": {"command": "flask " + shlex.join(sys.argv[1:]), **summary}})
        click.echo(json.dumps({k: summary[k] for k in ("mean", "worst", "mnist_test_mean")}, indent=2))

    @app.cli.command("train-rejection")
    @click.option("--data", "data_dir", default="data/mnist", type=click.Path(path_type=Path), show_default=True)
    @click.option("--models", "model_dir", default="models", type=click.Path(path_type=Path, exists=True,
                                                                             file_okay=False), show_default=True)
    @click.option("--pendigits", "pendigits_file", default=str(pendigits.DEFAULT_FILE),
                  type=click.Path(path_type=Path, exists=True))
    @click.option("--seed", default=1, show_default=True)
    @click.option("--shapes", default=32000, show_default=True, help="non-digit drawings to learn from")
    @click.option("--cost", default=0.002, show_default=True,
                  help="share of correctly read calibration digits the threshold may reject")
    @click.option("--with-strokes", is_flag=True,
                  help="also train the scorer of picture and pen path together (off: it rejected 2 pp of unseen "
                       "writers' digits; models/README.md)")
    def train_rejection(data_dir: Path, model_dir: Path, pendigits_file: Path, seed: int, shapes: int,
                        cost: float, with_strokes: bool) -> None:
        """Train the not-a-digit detector on the shipped nets' features (with --with-strokes, also its scorer of the
        pen's path, from --models' strokes net; NumPy; Hershey-Fonts from requirements-dev.txt), and write it
        into --models with its figures and SHA-256 in the card."""
        from app.offline.rejection_training import Shipped, train

        started = time.monotonic()
        shipped = Shipped(*load_for_serving(model_dir), load_strokes(model_dir) if with_strokes else None)
        detector, report = train(shipped, mnist.load(data_dir), pendigits.parse(pendigits_file), seed, shapes, cost,
                                 progress=click.echo)
        detector.save(model_dir / REJECTION_FILE)
        report = {"command": "flask " + shlex.join(sys.argv[1:]), **report,
                  "training_seconds": round(time.monotonic() - started)}
        _add_to_card(model_dir, {"not_a_digit": report}, {REJECTION_FILE: sha256(model_dir / REJECTION_FILE)})
        click.echo(json.dumps(report, indent=2))

    @app.cli.command("reference")
    @click.option("--data", "data_dir", default="data/mnist", type=click.Path(path_type=Path), show_default=True)
    @click.option("--out", default="models", type=click.Path(path_type=Path, exists=True, file_okay=False),
                  show_default=True)
    def reference_command(data_dir: Path, out: Path) -> None:
        """Write the learner's reference digits (MNIST, seed 0) into --out and record their SHA-256 in its card."""
        digest = ReferenceDigits.write(mnist.load(data_dir), out)
        _add_to_card(out, {}, {REFERENCE_FILE: digest})
        click.echo(f"{out / REFERENCE_FILE}: {(out / REFERENCE_FILE).stat().st_size:,} bytes, SHA-256 {digest}")

    @app.cli.command("export")
    @click.option("--format", "fmt", type=click.Choice(FORMATS), default="npz", show_default=True)
    @click.option("--out", required=True, type=click.Path(path_type=Path))
    def export_command(fmt: str, out: Path) -> None:
        """Write every consented stored sample (local folder or S3, as configured) as a dataset."""
        index = _index()
        started = time.perf_counter()
        count = export(storage_from_settings(settings()), index, fmt, out)
        seconds = time.perf_counter() - started
        click.echo(f"exported {count} samples to {out} ({fmt}) in {seconds:.2f} s "
                   f"({count / max(seconds, 1e-9):.0f}/s)")

    @app.cli.command("migrate")
    def migrate_command() -> None:
        """Bring the sample index's schema (DATABASE_URL, or SQLite in the data folder) to the newest revision."""
        _index()
        click.echo(f"sample index at its newest schema revision ({settings().index_url().split(':', 1)[0]})")

    @app.cli.command("learn")
    def learn_command() -> None:
        """Run the learner: the one process that takes corrections from the index in order and publishes
        versions (the Procfile's `learner:`); web processes then never import TensorFlow."""
        config = settings()
        # first: importing TensorFlow and preparing the nets take seconds of CPU, which web workers on the same
        # host (restarted learner, deploy) must not wait behind; threads started later inherit the priority
        _lower_priority(config.learner_nice)
        storage = storage_from_settings(config)
        index = _index()
        reference, off_reason = reference_digits(config)
        if reference is None:
            raise click.ClickException(f"{off_reason}; a learner without its reference digits would learn nothing")
        queue = learning_queue(config, storage, sample_store(config, storage, index), index, reference)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())  # a platform's restart: finish the step, then stop
        queue.run(stop)

    @app.cli.command("reindex")
    def reindex_command() -> None:
        """Rebuild or repair the sample index from storage, the store of record (idempotent)."""
        store = SampleStore(storage_from_settings(settings()))
        index = _index()
        started = time.perf_counter()
        with click.progressbar(length=len(store.json_keys()), label="indexing samples", file=sys.stderr) as bar:
            report = reindex(store, index, progress=bar.update)
        seconds = time.perf_counter() - started
        click.echo(f"indexed {report.indexed} samples in {seconds:.1f} s ({report.indexed / max(seconds, 1e-9):.0f}/s)")
        if report.orphans:
            click.echo(f"{len(report.orphans)} indexed samples are not in storage, e.g. {report.orphans[0]}", err=True)


    @app.cli.command("evaluate")
    @click.option("--data", "data_dir", default="data/mnist", type=click.Path(path_type=Path), show_default=True)
    @click.option("--models", "model_dir", default="models", type=click.Path(path_type=Path), show_default=True)
    @click.option("--pendigits", "pendigits_file", default=str(pendigits.DEFAULT_FILE), type=click.Path(path_type=Path))
    def evaluate(data_dir: Path, model_dir: Path, pendigits_file: Path) -> None:
        """Accuracy of the shipped weights on the MNIST test set and on pendigits drawn as on the canvas."""
        fnn, cnn = load_shipped(model_dir)
        pen_digits = pendigits.parse(pendigits_file) if pendigits_file.exists() else []
        ensemble = replace(Ensemble.from_shipped(fnn, cnn), strokes=load_strokes(model_dir))
        figures = _measure(ensemble, mnist.load(data_dir), pen_digits)
        click.echo(json.dumps(figures, indent=2))


def _add_to_card(model_dir: Path, sections: dict[str, object], files: dict[str, str] | None = None) -> None:
    """Set `sections` of the folder's card.json and add `files`' checksums, keeping everything else it records
    (the detector and the cross-validation are recorded by their own commands, after `train` wrote the card)."""
    card_path = model_dir / CARD_FILE
    card = json.loads(card_path.read_text()) if card_path.exists() else {}
    card.update(sections)
    card.setdefault("files", {}).update(files or {})
    card_path.write_text(json.dumps(card, indent=2) + "\n")


def _lower_priority(nice: int) -> None:
    """Lower the CPU priority of every thread of this process, so that web workers on the same host preempt it.

    Linux counts priority per thread, and by the time a command runs NumPy's BLAS pool exists: `os.nice` moved
    only the calling thread, not the ones doing the work (measured with nice 10 so applied: predictions while
    corrections streamed had a p99 of 7 × the idle p50). New threads, TensorFlow's pools among them, inherit it.
    Not SCHED_IDLE: that lets any other work on the host, however low its own priority, stop learning.
    """
    tasks = Path("/proc/self/task")
    threads = [int(thread) for thread in os.listdir(tasks)] if tasks.is_dir() else [0]
    for thread in threads:
        try:
            os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + nice))
        except ProcessLookupError:  # a thread that ended meanwhile
            continue


def _index() -> SampleIndex:
    """The configured sample index, migrated to the newest schema."""
    index = SampleIndex(settings().index_url())
    index.migrate()
    return index
