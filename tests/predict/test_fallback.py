"""The fallback chain: the user's jobs of that GPU count, then the queue, then the cluster."""

from __future__ import annotations

import math

import pytest

from corral.model import Job
from corral.predict.fallback import DEFAULT_SECONDS, fallback_seconds
from corral.predict.features import History


def finished(history: History, job_id: str, user: str, gpus: int, queue: str,
             seconds: float) -> None:
    history.finish(Job(id=job_id, submit=0.0, gpu_milli=1000 * gpus, user=user, queue=queue,
                       duration=seconds), end=seconds)


def test_chain_order_user_and_gpus_then_queue_then_cluster_then_default():
    history = History()
    asked = Job(id="new", submit=0.0, gpu_milli=2000, user="ann", queue="vision")
    assert fallback_seconds(history, asked) == pytest.approx(DEFAULT_SECONDS)

    finished(history, "other-queue", "bob", 1, "nlp", 10.0)
    history.advance(11.0)
    assert fallback_seconds(history, asked) == pytest.approx(10.0), "the cluster's median"

    finished(history, "same-queue", "bob", 1, "vision", 400.0)
    history.advance(401.0)
    assert fallback_seconds(history, asked) == pytest.approx(400.0), "the queue's median"

    finished(history, "ann-1gpu", "ann", 1, "vision", 30.0)
    history.advance(402.0)
    assert fallback_seconds(history, asked) == pytest.approx(math.sqrt(30.0 * 400.0)), \
        "ann's 1-GPU job is not her 2-GPU history: still the queue's median (of logs)"

    finished(history, "ann-2gpu", "ann", 2, "nlp", 7000.0)
    history.advance(7001.0)
    assert fallback_seconds(history, asked) == pytest.approx(7000.0), "ann's 2-GPU median"
