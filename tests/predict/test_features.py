"""Submit-time features: normalised name tokens, and only jobs that already ended count."""

from __future__ import annotations

import math

import pytest

from corral.model import InvalidSpec, Job
from corral.predict.features import FEATURE_NAMES, History, name_tokens


def test_name_tokens_lowercase_digits_to_hash_and_split():
    assert name_tokens("ResNet50-lr0.1_run3") == ("resnet##", "lr#", "#", "run#")
    assert name_tokens("") == ()
    assert name_tokens("bert run12") == name_tokens("BERT_run47")


def user_median(history: History) -> float:
    return history.features(Job(id="probe", submit=history.now, user="ann"))[
        FEATURE_NAMES.index("user_median")]


def test_a_job_counts_only_once_its_end_is_past():
    history = History()
    history.finish(Job(id="a", submit=0.0, user="ann", duration=100.0), end=100.0)
    history.advance(100.0)
    assert math.isnan(user_median(history)), "a job ending exactly now has not ended before now"
    assert [job.id for job in history.advance(100.5)] == ["a"]
    assert user_median(history) == pytest.approx(math.log(100.0))


def test_features_never_read_the_duration_of_the_job_asked_about():
    history = History()
    history.advance(10.0)
    short = Job(id="x", submit=10.0, user="ann", name="a1", duration=5.0)
    long = Job(id="x", submit=10.0, user="ann", name="a1", duration=5e6)
    assert history.features(short) == pytest.approx(history.features(long), nan_ok=True)


def test_time_cannot_go_back_and_finished_jobs_need_a_duration():
    history = History()
    history.advance(50.0)
    with pytest.raises(InvalidSpec, match="time cannot go back"):
        history.advance(49.0)
    with pytest.raises(InvalidSpec, match="needs its duration"):
        history.finish(Job(id="a", submit=0.0), end=1.0)
