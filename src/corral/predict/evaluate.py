"""Prediction quality on a trace: learn from its start, score on the rest, model vs fallback.

Jobs are split by submit time. Every job is predicted at its own submit time by the same
:class:`~corral.predict.online.OnlinePredictor` the simulator runs, which sees only the jobs
that ended before that time and retrains as they accumulate; the jobs after the split are
scored, for the model and for the fallback chain's answer to the same job. Traces rarely give
start times, so a job is taken to end at submit + duration, the earliest it could have.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from corral.model import ConfigError, Job
from corral.predict.features import MIN_SECONDS
from corral.predict.online import OnlinePredictor


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


def evaluate(jobs: Sequence[Job], train_fraction: float = 0.7,
             retrain_every: int = 200) -> Evaluation:
    """Learn from the first ``train_fraction`` of ``jobs`` by submit time (and, as it goes,
    from the rest once they end), score the predictions made for the rest."""
    if not 0 < train_fraction < 1:
        raise ConfigError(f"train fraction must be between 0 and 1, got {train_fraction!r}")
    known = sorted((job for job in jobs if job.duration is not None), key=lambda j: j.submit)
    split = int(len(known) * train_fraction)
    if split < 1 or split >= len(known):
        raise ConfigError(f"{len(known)} jobs with durations are too few to split at "
                          f"{train_fraction}: both parts need at least one job")
    predictor = OnlinePredictor(retrain_every=retrain_every)
    model, fallback = [], []
    for index, job in enumerate(known):
        prediction = predictor.predict(job.without_duration(), job.submit)
        if index >= split:
            model.append(prediction.p50)
            fallback.append(prediction.fallback)
        assert job.duration is not None
        predictor.finish(job, job.submit + job.duration)
    split_time = known[split].submit
    truth = np.asarray([job.duration or 0.0 for job in known[split:]])
    trained = sum(1 for job in known[:split] if job.submit + (job.duration or 0.0) < split_time)
    return Evaluation(model=score(np.asarray(model), truth),
                      fallback=score(np.asarray(fallback), truth),
                      jobs=len(truth), train_jobs=trained)
