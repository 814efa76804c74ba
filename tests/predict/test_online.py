"""The online predictor learns only from jobs that ended before the time of each prediction."""

from __future__ import annotations

import dataclasses

import pytest

from corral.model import InvalidSpec, Job
from corral.predict import OnlinePredictor, Prediction
from corral.predict.features import FEATURE_NAMES


def replay(jobs: list[Job]) -> list[Prediction]:
    """Hands every job over up front with its end, then predicts each at its submit time.

    Retraining every few jobs makes each prediction depend on exactly which jobs were seen.
    """
    predictor = OnlinePredictor(retrain_every=5)
    for job in jobs:
        assert job.duration is not None
        predictor.finish(job, job.submit + job.duration)
    return [predictor.predict(job, job.submit) for job in jobs]


def test_changing_unfinished_jobs_changes_no_earlier_prediction(name_driven):
    jobs = name_driven(400)
    cutoff = jobs[250].submit
    changed = [dataclasses.replace(job, duration=job.duration * 7.0)
               if job.submit + job.duration >= cutoff else job for job in jobs]
    assert sum(a is not b for a, b in zip(jobs, changed, strict=True)) > 50

    before, after = replay(jobs), replay(changed)
    early = [i for i, job in enumerate(jobs) if job.submit <= cutoff]
    assert any(before[i].source == "model" for i in early), "the model must be exercised"
    assert [before[i] for i in early] == [after[i] for i in early]
    assert before != after, "later predictions do learn from the changed durations"


def test_answers_from_the_start_and_retrains_as_jobs_finish(name_driven):
    predictor = OnlinePredictor(retrain_every=40)
    jobs = name_driven(300)
    first = predictor.predict(jobs[0], jobs[0].submit)
    assert first.source == "fallback" and first.p90 >= first.p50 > 0
    for job in jobs:
        assert job.duration is not None
        predictor.finish(job, job.submit + job.duration)
    predictions = [predictor.predict(job, job.submit) for job in jobs]
    assert predictions[-1].source == "model"
    assert all(p.p90 >= p.p50 > 0 for p in predictions)
    assert predictor.trainings >= 3, "retrained every 40 newly finished jobs"


def test_bad_retraining_settings_are_refused():
    with pytest.raises(InvalidSpec, match="retrain_every"):
        OnlinePredictor(retrain_every=0)
    with pytest.raises(InvalidSpec, match="retrain_interval"):
        OnlinePredictor(retrain_interval=0.0)


def test_jobs_never_predicted_train_on_the_history_before_their_own_end():
    """A live backend hands over finished jobs it did not predict: each one's training row is
    built from the jobs that ended before it, never from itself."""
    predictor = OnlinePredictor(retrain_every=1)
    for i, end in enumerate((100.0, 200.0, 300.0)):
        predictor.finish(Job(id=f"j{i}", submit=end - 50.0, user="ada", duration=50.0), end)
    training = predictor.absorb(1_000.0)
    assert training is not None
    rows, durations = training
    count = FEATURE_NAMES.index("user_count")
    assert [row[count] for row in rows] == [0.0, 1.0, 2.0] and durations == [50.0] * 3


def test_statistics_keep_only_the_most_recently_used_keys(monkeypatch):
    from corral.predict import features

    monkeypatch.setattr(features, "MAX_KEYS", 2)
    recent = features.RecentDurations()
    for key in ("a", "b", "a", "c"):
        recent.add(key, 1.0)
    assert recent.count("a") == 2 and recent.count("c") == 1
    assert recent.count("b") == 0, "the least recently added-to key went first"
