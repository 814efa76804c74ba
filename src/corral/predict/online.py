"""A duration predictor that learns while the simulation runs, from the past only.

Finished jobs may be handed over early (with their end times); they count only once the
prediction time has passed their end, and the model is retrained from those alone. Retraining
is due after ``retrain_every`` newly visible jobs, or a tenth of the jobs it last trained on if
that is more (so a long trace costs tens of trainings, not hundreds), or after
``retrain_interval`` simulated seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from corral.model import InvalidSpec, Job
from corral.predict.features import History
from corral.predict.model import BASE, QuantileModel

MAX_TRAIN_JOBS = 20_000
"""Only the most recent finished jobs are trained on: bounded cost, and habits drift."""

RETRAIN_GROWTH = 0.5
"""Retrain once the finished jobs grew by at least this share of the last training set."""

FALLBACK_P90_FACTOR = 3.0
"""The fallback's p90 is its median times this: a wide band, as it knows little."""


@dataclass(frozen=True)
class Prediction:
    """Predicted run time in seconds: median, 90th percentile, who answered, and the fallback
    chain's own answer (the same as ``p50`` when the fallback answered)."""

    p50: float
    p90: float
    source: str  # "model" or "fallback"
    fallback: float


class OnlinePredictor:
    """Predicts a job's duration at a given time from the jobs that ended before it."""

    def __init__(self, retrain_every: int = 200, retrain_interval: float | None = None) -> None:
        if retrain_every < 1:
            raise InvalidSpec(f"retrain_every must be >= 1, got {retrain_every!r}")
        if retrain_interval is not None and not retrain_interval > 0:
            raise InvalidSpec(f"retrain_interval must be > 0, got {retrain_interval!r}")
        self.retrain_every = retrain_every
        self.retrain_interval = retrain_interval
        self._history = History()
        self._submit_features: dict[str, list[float]] = {}
        self._rows: list[list[float]] = []
        self._durations: list[float] = []
        self._new_since_training = 0
        self._trained_on = 0
        self._trained_at = -math.inf
        self._model: QuantileModel | None = None
        self.trainings = 0

    def finish(self, job: Job, end: float) -> None:
        """Hand over a job that ends (or ended) at ``end``, with its true duration."""
        self._history.finish(job, end)

    def predict(self, job: Job, now: float, *, live: bool = False) -> Prediction:
        """The duration of ``job`` as predicted at ``now`` (never earlier than a previous call).

        In a simulation the jobs that ended by ``now`` are absorbed first (retraining when
        due), and the job's submission and features are remembered, to train on them once it
        is handed over by :meth:`finish`. ``live`` predicts from what :meth:`absorb` and
        :meth:`install` last gave, and remembers nothing: a live backend absorbs and trains
        away from its scheduling loop, and its finished jobs come back under other ids."""
        if not live:
            self._catch_up(now)
        row = self._history.features(job)
        if not live and job.id not in self._submit_features:
            self._submit_features[job.id] = row
            self._history.submitted(job)
        fallback = math.exp(row[BASE])
        if self._model is None:
            return Prediction(fallback, fallback * FALLBACK_P90_FACTOR, "fallback", fallback)
        p50, p90 = self._model.predict([row])
        return Prediction(float(p50[0]), float(p90[0]), "model", fallback)

    def absorb(self, now: float) -> tuple[list[list[float]], list[float]] | None:
        """Make the jobs that ended before ``now`` visible; the training set if a retraining
        is due (fit it, then :meth:`install` the model), else None."""
        for job in self._history.advance(now, before=self._keep_row):
            assert job.duration is not None
            self._durations.append(job.duration)
            self._new_since_training += 1
        del self._rows[:-MAX_TRAIN_JOBS], self._durations[:-MAX_TRAIN_JOBS]
        if self._new_since_training and self._due(now):
            return self._rows[:], self._durations[:]
        return None

    def install(self, model: QuantileModel | None, trained_on: int, now: float) -> None:
        """Use ``model``, fitted on the first ``trained_on`` rows :meth:`absorb` returned at
        ``now`` (None: too few; the previous model stays)."""
        self._model = model or self._model
        self._new_since_training = 0
        self._trained_on = trained_on
        self._trained_at = now
        self.trainings += 1

    def _catch_up(self, now: float) -> None:
        training = self.absorb(now)
        if training is not None:
            self.install(QuantileModel.fit(*training), len(training[0]), now)

    def _keep_row(self, job: Job) -> None:
        # Train on what was known at the job's submit time when it was predicted then; else
        # on what was known just before it ended (never on the job itself).
        row = self._submit_features.pop(job.id, None) or self._history.features(job)
        self._rows.append(row)

    def _due(self, now: float) -> bool:
        if self._new_since_training >= max(self.retrain_every,
                                           RETRAIN_GROWTH * self._trained_on):
            return True
        return self.retrain_interval is not None and now - self._trained_at >= self.retrain_interval
