"""A short soak (the CI cut of bench/soak.py): the Procfile's web workers and learner on moto S3, an outage,
and kill -9 of a web worker and of the learner."""

from __future__ import annotations

import pytest

from bench.soak import run

pytestmark = pytest.mark.slow  # measurement runs of minutes: `-m 'not slow'` skips them locally


def test_nothing_is_lost_through_an_outage_a_killed_worker_and_a_killed_learner():
    # clients 0.1 s apart: still ~100 corrections, over half of them spooled by the outage and several in flight at
    # each kill; back to back they made a backlog of ~600 that took the learner 90 s of CI to drain, testing no more
    report = run(seconds=20, workers=2, clients=4, outage=4, think=0.1)
    print("soak:", report)
    assert len(report["events"]) == 5  # both kills, the learner's restart, the outage and the recovery
    assert report["server_errors"] == 0
    assert report["corrections_acknowledged"] > 10 and report["of_which_spooled"] > 0
    assert report["lost_samples"] == 0
    assert report["stored_without_answer"] <= report["cut_by_kill"]
    assert report["spool_flushed"] is True
    assert report["learner_drained"] is True and report["samples_learned"] > 0
    assert report["lost_steps"] == report["doubled_steps"] == report["steps_unmarked"] == 0
    assert report["versions_unloadable"] == 0
