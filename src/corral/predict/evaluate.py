"""Prediction quality on a trace: train on its start, score on the rest, model vs fallback.

Jobs are split by submit time. The model is trained once, on the training jobs that ended
before the first test job was submitted; every job's features (and the fallback's answer) use
only the jobs that ended before its own submit. Traces rarely give start times, so a job is
taken to end at submit + duration, the earliest it could have.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from corral.model import ConfigError, Job
from corral.predict.fallback import fallback_seconds
from corral.predict.features import MIN_SECONDS, History
from corral.predict.model import QuantileModel


@dataclass(frozen=True)
class Scores:
    """MAE in seconds, median absolute percentage error (%), share within 2x of the truth."""

    mae: float
    mdape: float
    within_2x: float


@dataclass(frozen=True)
class Evaluation:
    """Scores of the model and of the fallback on the same test jobs."""

    model: Scores
    fallback: Scores
    jobs: int
    train_jobs: int

    def to_json(self) -> dict[str, object]:
        return {"model": asdict(self.model), "fallback": asdict(self.fallback), "jobs": self.jobs}


def score(predicted: np.ndarray, truth: np.ndarray) -> Scores:
    """The three figures, with both sides floored at one second for the ratios."""
    error = np.abs(predicted - truth)
    floored_truth = np.maximum(truth, MIN_SECONDS)
    ratio = np.maximum(predicted, MIN_SECONDS) / floored_truth
    return Scores(mae=float(error.mean()),
                  mdape=float(np.median(error / floored_truth) * 100.0),
                  within_2x=float(np.mean((ratio >= 0.5) & (ratio <= 2.0))))


def evaluate(jobs: Sequence[Job], train_fraction: float = 0.7) -> Evaluation:
    """Train on the first ``train_fraction`` of ``jobs`` by submit time, score on the rest."""
    if not 0 < train_fraction < 1:
        raise ConfigError(f"train fraction must be between 0 and 1, got {train_fraction!r}")
    known = sorted((job for job in jobs if job.duration is not None), key=lambda j: j.submit)
    split = int(len(known) * train_fraction)
    if split < 1 or split >= len(known):
        raise ConfigError(f"{len(known)} jobs with durations are too few to split at "
                          f"{train_fraction}: both parts need at least one job")
    history = History()
    rows, fallback = [], []
    for job in known:
        history.advance(job.submit)
        rows.append(history.features(job))
        fallback.append(fallback_seconds(history, job))
        assert job.duration is not None
        history.finish(job, job.submit + job.duration)
    split_time = known[split].submit
    durations = [job.duration or 0.0 for job in known]
    train = [i for i in range(split) if known[i].submit + durations[i] < split_time]
    model = QuantileModel.fit([rows[i] for i in train], [durations[i] for i in train])
    truth = np.asarray(durations[split:])
    fallback_predicted = np.asarray(fallback[split:])
    model_predicted = model.predict(rows[split:])[0] if model else fallback_predicted
    return Evaluation(model=score(model_predicted, truth),
                      fallback=score(fallback_predicted, truth),
                      jobs=len(truth), train_jobs=len(train))
