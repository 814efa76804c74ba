"""Predicted run times on the snapshot: revised as a job outlives them, re-keyed on starvation
without touching the rest of the queue."""

from __future__ import annotations

import pytest

from builders import job, nodes
from corral.core import Scheduler
from corral.core.duration_estimate import DurationEstimate
from corral.model import InvalidSpec
from corral.policies import load_policy


def test_an_estimate_grows_once_the_job_outlives_it():
    estimate = DurationEstimate(100.0, 300.0)
    assert estimate.remaining_after(0) == 100 and estimate.remaining_after(40) == 60
    assert estimate.remaining_after(100) == 200, "past the median: the 90th percentile"
    assert estimate.remaining_after(500) == 500, "past the 90th percentile: twice its age"


@pytest.mark.parametrize("p50, p90", [(-1.0, 2.0), (5.0, 4.0), (float("nan"), 1.0),
                                      (1.0, float("inf"))])
def test_impossible_estimates_are_refused(p50, p90):
    with pytest.raises(InvalidSpec, match="duration estimate"):
        DurationEstimate(p50, p90)


def test_remaining_time_counts_every_run_segment():
    sched = Scheduler(load_policy("predicted-sjf"))
    state = sched.new_state(nodes(8))
    two = job("two", tasks=2, duration=None)
    state.submit(two, estimate=DurationEstimate(1000.0, 2000.0))
    assert state.estimated_remaining(two, 0) == 1000
    state.start("two", sched.cycle(state, 0).decisions[0].placement, 0)
    assert state.estimated_remaining(two, 400) == 600
    state.preempt("two", 400)
    assert state.estimated_remaining(two, 900) == 600, "waiting does not count as running"
    assert state.estimated_remaining(job("unknown"), 0) is None


def test_only_the_jobs_that_start_to_starve_are_rekeyed():
    sched = Scheduler(load_policy("predicted-sjf"))   # starvation after 86,400 s
    state = sched.new_state(nodes(1))
    state.submit(job("long", 0, duration=None), estimate=DurationEstimate(50_000, 90_000))
    state.submit(job("short", 50_000, duration=None), estimate=DurationEstimate(60, 120))
    assert [j.id for j in state.pending] == ["short", "long"]
    state.promote_waiting(86_399)
    assert [j.id for j in state.pending] == ["short", "long"]
    state.promote_waiting(86_400)
    assert [j.id for j in state.pending] == ["long", "short"], "long has waited a day"
