"""The compact record of finished jobs gives exactly the table the runs would give."""

from __future__ import annotations

import pandas as pd

from builders import scheduler
from corral.clusters import build_cluster
from corral.sim.finished_jobs import FinishedJobs
from corral.sim.metrics import job_table
from corral.sim.simulator import Simulator
from corral.traces import read_trace


def test_record_matches_the_runs_mid_run_and_at_the_end_and_keeps_no_run():
    trace = read_trace(None, limit=120)
    nodes = build_cluster("8x8", trace).nodes
    kept = Simulator(scheduler("tiresias"), nodes, trace.jobs)
    record = FinishedJobs(nodes)
    streamed = Simulator(scheduler("tiresias"), nodes, trace.jobs, finished_record=record)
    last_arrival = trace.jobs[-1].submit
    for step in (lambda sim: sim.run_until(last_arrival), Simulator.run):
        step(kept)
        step(streamed)
        expected = job_table([r for r in kept.runs if r.end >= 0], nodes)
        pd.testing.assert_frame_equal(record.frame(), expected)
        assert 0 < record.count == len(expected)
        assert record.count < len(trace.jobs) or step is Simulator.run
    assert kept.preemptions > 0 and streamed.runs == []
    assert record.count == len(trace.jobs)
