"""app/samples/stats.py and app/samples/dataset.py's pure parts on hand-built metadata: every figure checked by hand."""

from __future__ import annotations

from typing import Any

import pytest

from app.samples import dataset, stats
from tests import oracles

NETS = ("fnn", "cnn", "fnn_online", "cnn_online")


def meta(n: int, label: int, reads: dict[str, int | None], *, day: str = "2026-11-20", predicted: int | None = None,
         answer: int | None = None, source: str = "correction", **extra: Any) -> dict[str, Any]:
    """The n-th sample of a day: `reads` gives each net's top-1 when it arrived (None: reading missing)."""
    compact = day.replace("-", "")
    return {
        "id": f"{compact}T{n:06d}000000Z-{n:08x}",
        "created": f"{day}T{n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}.000+00:00",
        "label": label,
        "source": source,
        "predicted": predicted,
        "answer": answer,
        "models": {name: {"top3": [[digit, 0.8], [(digit + 1) % 10, 0.1], [(digit + 2) % 10, 0.05]]}
                   for name, digit in reads.items() if digit is not None},
        "status": "learned",
        "consent": True,
        "client": f"client{n % 2}",
        **extra,
    }


def all_read(digit: int) -> dict[str, int]:
    return dict.fromkeys(NETS, digit)


def test_prequential_is_each_nets_rolling_top1_accuracy_in_time_order():
    # label 1 each time; fnn right on samples 1, 2, 4; cnn always right; the online pair learns from sample 3 on
    samples = [
        meta(1, 1, {"fnn": 1, "cnn": 1, "fnn_online": 7, "cnn_online": 7}, predicted=7),
        meta(2, 1, {"fnn": 1, "cnn": 1, "fnn_online": 7, "cnn_online": 1}, predicted=1),
        meta(3, 1, {"fnn": 7, "cnn": 1, "fnn_online": 1, "cnn_online": 1}, predicted=1),
        meta(4, 1, {"fnn": 1, "cnn": 1, "fnn_online": 1, "cnn_online": 1}, predicted=1),
    ]
    result = stats.prequential(list(reversed(samples)), window=2)  # input order does not matter: ids do
    assert result["count"] == 4 and result["window"] == 2
    assert result["index"] == [1, 2, 3, 4]
    assert result["created"][0] == samples[0]["created"]
    assert result["series"]["fnn"] == [1.0, 1.0, 0.5, 0.5]
    assert result["series"]["cnn"] == [1.0, 1.0, 1.0, 1.0]
    assert result["series"]["fnn_online"] == [0.0, 0.0, 0.5, 1.0]
    assert result["series"]["cnn_online"] == [0.0, 0.5, 1.0, 1.0]
    assert result["series"]["shown"] == [0.0, 0.5, 1.0, 1.0]
    assert result["overall"] == {"fnn": 0.75, "cnn": 1.0, "fnn_online": 0.5, "cnn_online": 0.75, "shown": 0.75}
    assert result["recent"] == {"fnn": 0.5, "cnn": 1.0, "fnn_online": 1.0, "cnn_online": 1.0, "shown": 1.0}


def test_prequential_skips_missing_readings_and_deleted_samples():
    samples = [
        meta(1, 2, {"fnn": 2, "cnn": None, "fnn_online": 2, "cnn_online": 2}, predicted=2),
        meta(2, 2, {"fnn": 3, "cnn": 2, "fnn_online": 2, "cnn_online": 2}, predicted=2),
        meta(3, 2, all_read(9), predicted=9, deleted=True),
    ]
    result = stats.prequential(samples, window=10)
    assert result["count"] == 2
    assert result["series"]["cnn"] == [None, 1.0]  # no reading yet, then one right
    assert result["overall"]["fnn"] == 0.5 and result["overall"]["cnn"] == 1.0


def test_prequential_thins_long_histories_but_keeps_the_last_point():
    samples = [meta(i, i % 10, all_read(i % 10 if i % 4 else 0), predicted=i % 10) for i in range(1, 1001)]
    result = stats.prequential(samples, window=50, limit=100)
    assert len(result["index"]) == 100 and result["index"][0] == 1 and result["index"][-1] == 1000
    assert all(len(values) == 100 for values in result["series"].values())
    # every 4th sample is read as 0, which is right only when its label is 0: check against a plain loop
    right = [1 if i % 4 or i % 10 == 0 else 0 for i in range(1, 1001)]
    expected = [round(sum(right[max(0, n - 50):n]) / len(right[max(0, n - 50):n]), 4) for n in result["index"]]
    assert result["series"]["fnn"] == expected


def test_an_empty_store_has_empty_figures():
    assert stats.prequential([])["count"] == 0
    assert stats.prequential([])["overall"] == dict.fromkeys((*NETS, "shown"))
    assert stats.per_day([]) == []
    assert sum(row["total"] for row in stats.per_digit([])) == 0
    assert stats.totals([])["samples"] == 0 and stats.totals([])["first"] is None


def test_shown_answer_and_misread():
    assert stats.shown(meta(1, 4, {}, predicted=5, answer=4)) == 5  # what the page showed wins
    assert stats.shown(meta(1, 4, {}, predicted=None, answer=4, source="collection")) == 4
    assert stats.misread(meta(1, 4, {}, predicted=4)) is False
    assert stats.misread(meta(1, 4, {}, predicted=None, answer=None)) is True  # not recognised


def test_per_day_fills_gaps_and_splits_by_source():
    samples = [
        meta(1, 1, {}, day="2026-11-20"),
        meta(2, 1, {}, day="2026-11-20", source="confirmation"),
        meta(3, 1, {}, day="2026-11-23", source="collection"),
        meta(4, 1, {}, day="2026-11-23", deleted=True),
        meta(5, 1, {}, day="2026-11-23", source="number"),
    ]
    assert stats.per_day(samples) == [
        {"date": "2026-11-20", "correction": 1, "confirmation": 1, "collection": 0, "number": 0, "total": 2},
        {"date": "2026-11-21", "correction": 0, "confirmation": 0, "collection": 0, "number": 0, "total": 0},
        {"date": "2026-11-22", "correction": 0, "confirmation": 0, "collection": 0, "number": 0, "total": 0},
        {"date": "2026-11-23", "correction": 0, "confirmation": 0, "collection": 1, "number": 1, "total": 2},
    ]
    assert [day["date"] for day in stats.per_day(samples, max_days=2)] == ["2026-11-22", "2026-11-23"]


def test_per_digit_counts_sources_and_misreadings():
    samples = [
        meta(1, 3, {}, predicted=8),
        meta(2, 3, {}, predicted=3, source="confirmation"),
        meta(3, 7, {}, answer=1, source="collection"),
        meta(4, 3, {}, predicted=3, source="number"),
    ]
    rows = {row["digit"]: row for row in stats.per_digit(samples)}
    assert rows[3] == {"digit": 3, "correction": 1, "confirmation": 1, "collection": 0, "number": 1, "misread": 1,
                       "total": 3}
    assert rows[7] == {"digit": 7, "correction": 0, "confirmation": 0, "collection": 1, "number": 0, "misread": 1,
                       "total": 1}
    assert rows[0]["total"] == 0 and len(rows) == 10


def test_confusion_is_label_against_shown_answer_with_a_not_recognised_column():
    samples = [
        meta(1, 3, {}, predicted=8),
        meta(2, 3, {}, predicted=8),
        meta(3, 3, {}, predicted=3, source="confirmation"),
        meta(4, 5, {}, predicted=None, answer=None),
        meta(5, 9, {}, answer=4, source="collection"),
        meta(6, 9, {}, predicted=1, deleted=True),
    ]
    result = stats.confusion(samples)
    assert result["rows"] == list(range(10)) and result["columns"] == [*range(10), None]
    matrix = result["matrix"]
    assert matrix[3][8] == 2 and matrix[3][3] == 1 and matrix[5][10] == 1 and matrix[9][4] == 1
    assert sum(map(sum, matrix)) == 5


def test_totals():
    samples = [
        meta(1, 1, {}, predicted=2, consent=False),
        meta(2, 1, {}, predicted=1, status="quarantined"),
        meta(3, 2, {}, predicted=2, status="not_learned"),
    ]
    totals = stats.totals(samples)
    assert totals["samples"] == 3 and totals["misread"] == 1 and totals["consented"] == 2 and totals["people"] == 2
    assert totals["by_status"] == {"learned": 1, "quarantined": 1, "not_learned": 1, "pending": 0}
    assert totals["by_source"] == {"correction": 3}
    assert totals["first"] == samples[0]["created"] and totals["last"] == samples[2]["created"]


def test_versions_report_the_current_canary_or_the_shipped_floor():
    floor = {"fnn_online": {"accuracy": 0.98, "loss": 0.07}, "cnn_online": {"accuracy": 0.99, "loss": 0.03}}
    records = [
        {"version": 1, "parent": 0, "folder": "x", "label": 4, "sample_id": "a",
         "canary": {"fnn_online": {"accuracy": 0.979, "loss": 0.071}, "cnn_online": {"accuracy": 0.99, "loss": 0.031}}},
        {"version": 2, "parent": 1, "folder": "y", "label": 5, "sample_id": "b",
         "canary": {"fnn_online": {"accuracy": 0.981, "loss": 0.072}, "cnn_online": {"accuracy": 0.991, "loss": 0.03}}},
    ]
    result = stats.versions(1, 2, records, floor)
    assert result["current"] == 1 and result["latest"] == 2 and result["baseline"]["canary"] == floor
    assert result["current_canary"] == records[0]["canary"]
    assert [v["version"] for v in result["kept"]] == [1, 2] and "folder" not in result["kept"][0]
    assert stats.versions(0, 2, records, floor)["current_canary"] == floor


def test_dataset_selects_public_samples_newest_first_and_pages_them():
    samples = [meta(i, i % 10, {}, predicted=i % 10 if i % 3 else (i + 1) % 10, consent=i % 5 != 0,
                    source="correction" if i % 3 == 0 else "confirmation") for i in range(1, 61)]
    samples[10]["deleted"] = True  # i = 11
    public = oracles.select(samples)
    assert [m["id"] for m in public] == sorted((m["id"] for m in public), reverse=True)
    assert len(public) == 60 - 12 - 1  # twelve without consent, one deleted
    assert len(oracles.select(samples, everyone=True)) == 59
    sevens = oracles.select(samples, label=7)
    assert {m["label"] for m in sevens} == {7} and len(sevens) == 6
    wrong = oracles.select(samples, was_misread=True)
    assert wrong and all(m["predicted"] != m["label"] and m["source"] == "correction" for m in wrong)
    assert oracles.select(samples, was_misread=True, source="confirmation") == []

    first, third = oracles.paginate(public, 1), oracles.paginate(public, 3)
    assert (first["total"], first["pages"], len(first["items"]), len(third["items"])) == (47, 2, 24, 0)
    cell = first["items"][0]
    assert cell["thumbnail"] == f"/api/samples/{cell['id']}.png" and cell["url"] == f"/dataset/{cell['id']}"
    assert set(cell) >= {"id", "label", "answer", "predicted", "source", "created", "status", "misread"}


@pytest.mark.parametrize("sample_id", ["", "x", "20261123T195301123456Z-1A2B3C4D", "../../etc/passwd",
                                       "20261123T195301123456Z-1a2b3c4d.json", "20261123T19530112345Z-1a2b3c4d"])
def test_only_well_formed_ids_are_accepted(sample_id):
    assert not dataset.valid_id(sample_id)


def test_detail_leaves_out_the_client_hash():
    shown = dataset.detail(meta(1, 3, all_read(3), predicted=3))
    assert "client" not in shown and shown["misread"] is False and shown["models"]["fnn"]["top3"][0][0] == 3
