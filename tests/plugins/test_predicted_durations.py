"""Policies on predicted run times: predicted-sjf (QSSF with a starvation guard and preemption
by time left) and EASY backfill on predictions, in the simulator with its online predictor."""

from __future__ import annotations

import dataclasses
from importlib.resources import files

import pytest

from builders import job, nodes, scheduler
from corral.core import Scheduler
from corral.core.duration_estimate import DurationEstimate
from corral.model import ConfigError
from corral.plugins.predicted_sjf_order import PredictedSjfOrder, PredictedSjfOrderArgs
from corral.policies import load_policy, parse_policy
from corral.sim.config import SimConfig
from corral.sim.metrics import job_table
from corral.sim.simulator import Simulator


def history(user: str, seconds: float, count: int, gpus: int = 8, start: float = 0.0) -> list:
    """``count`` finished jobs of one user, one after another, to learn from."""
    return [job(f"{user}{i}", start + i * seconds, tasks=gpus, duration=seconds, user=user)
            for i in range(count)]


def run(policy: str, cluster, jobs):
    sim = Simulator(scheduler(policy), cluster, jobs, SimConfig())
    sim.run()
    return sim, job_table(sim.runs, sim.state.nodes).set_index("job_id")


def test_policies_that_read_predictions_say_so():
    assert load_policy("predicted-sjf").reads_estimates
    assert load_policy("backfill-predicted").reads_estimates
    assert not load_policy("tiresias").reads_estimates
    assert not load_policy("backfill").reads_estimates


def test_the_job_predicted_shorter_goes_first_and_preempts_a_longer_one():
    # Ann's jobs always take 100 s, Bob's 5,000 s: once the simulator has seen a few, a new
    # job of Ann's overtakes a waiting job of Bob's and preempts a running one.
    past = history("ann", 100, 3) + history("bob", 5000, 1, start=300)
    now = 5301.0  # bob0 has finished (at 5,300): the predictor has seen it
    jobs = [*past, job("bob-new", now, tasks=8, duration=5000, user="bob"),
            job("bob-next", now + 10, tasks=8, duration=5000, user="bob"),
            job("ann-new", now + 20, tasks=8, duration=100, user="ann")]
    _, table = run("predicted-sjf", nodes(8), jobs)
    assert table.loc["ann-new"].start == now + 20, "preempts bob-new, predicted 4,980 s left"
    assert table.loc["bob-new"].preemptions == 1
    assert table.loc["bob-next"].start >= table.loc["bob-new"].end
    assert set(table.index) == {j.id for j in jobs} and (table.end >= 0).all()


def test_a_job_that_outlives_its_prediction_is_never_stopped_for_it():
    past = history("ann", 100, 5)
    jobs = [*past, job("surprise", 600, tasks=8, duration=50000, user="ann")]
    _, table = run("predicted-sjf", nodes(8), jobs)
    assert table.loc["surprise"].end == pytest.approx(50_600)


def test_backfill_on_predictions_keeps_the_heads_reservation():
    # Like the time-limit case, with durations learnt instead of given: "run" (6 GPUs) is
    # predicted to end at 1,000; the 8-GPU head is reserved then; carl's 2-GPU jobs of 100 s
    # are backfilled, dave's of 5,000 s are not.
    past = (history("carl", 100, 3, gpus=2) + history("dave", 5000, 1, gpus=2, start=300)
            + history("eve", 1000, 2, gpus=6, start=5300))
    t = 7400.0
    jobs = [*past, job("run", t, tasks=6, duration=1000, user="eve"),
            job("head", t + 1, tasks=8, duration=10, user="fay"),
            job("long", t + 2, tasks=2, duration=5000, user="dave"),
            job("short", t + 3, tasks=2, duration=100, user="carl")]
    _, table = run("backfill-predicted", nodes(8), jobs)
    assert table.loc["short"].start == t + 3
    assert table.loc["head"].start == t + 1000
    assert table.loc["long"].start >= t + 1010


def test_sjf_order_arguments_are_checked():
    with pytest.raises(ConfigError, match="estimate"):
        PredictedSjfOrderArgs(estimate="guess").validate()
    with pytest.raises(ConfigError, match="starvation_s"):
        PredictedSjfOrderArgs(starvation_s=0).validate()
    assert PredictedSjfOrder(PredictedSjfOrderArgs(estimate="oracle")).needs_oracle


def test_the_simulator_predicts_from_finished_jobs_only():
    # Stretch every job still running at the cutoff: no prediction made before the cutoff may
    # change, though the schedule after it does.
    jobs = [job(f"j{i}", i * 60.0, tasks=1 + i % 4, duration=300.0 * (1 + i % 4) * (1 + i % 3),
                user=f"u{i % 3}") for i in range(400)]
    cutoff = jobs[250].submit
    stretched = [dataclasses.replace(j, duration=j.duration * 5) if j.submit + j.duration >= cutoff
                 else j for j in jobs]

    def predictions(trace):
        sim = Simulator(scheduler("predicted-sjf"), nodes(4), trace, SimConfig())
        sim.predictor.retrain_every = 20
        made = {}
        predict = sim.predictor.predict

        def recording(one, now):
            made[one.id] = predict(one, now)
            return made[one.id]

        sim.predictor.predict = recording
        sim.run()
        return made

    before, after = predictions(jobs), predictions(stretched)
    early = [j.id for j in jobs if j.submit < cutoff]
    assert any(before[i].source == "model" for i in early), "the model must be exercised"
    assert [before[i] for i in early] == [after[i] for i in early]
    assert before != after


def _overrun_rivals(profile, waiting_ran: float):
    """One 8-GPU node, both jobs predicted 100 s (p90 200 s) and far past it, so each is taken
    to need as long again as it ran: "late" has run 1,000 s (8,000 GPU-s left, band 6 of 4x
    bands), "early" ran *waiting_ran* s before it was preempted."""
    sched = Scheduler(profile)
    state = sched.new_state(nodes(8))
    guess = DurationEstimate(100.0, 200.0)
    state.submit(job("early", 0, tasks=8), estimate=guess)
    placement = sched.cycle(state, 0).decisions[0].placement
    state.start("early", placement, 0)
    state.preempt("early", waiting_ran)
    state.submit(job("late", 10, tasks=8), waiting_ran, estimate=guess)
    state.start("late", placement, waiting_ran)
    return [(type(d).__name__, d.job_id) for d in sched.cycle(state, waiting_ran + 1000).decisions]


def test_overrunning_jobs_swap_only_across_bands_of_time_left():
    banded = load_policy("predicted-sjf")
    assert _overrun_rivals(banded, 900) == []  # 7,200 GPU-s left: the same band
    assert _overrun_rivals(banded, 100) == [("Preempt", "late"), ("Start", "early")]  # 800
    text = (files("corral.policies") / "predicted-sjf.toml").read_text(encoding="utf-8")
    unbanded = parse_policy(text.replace("band_ratio = 4", "").replace("key_fields = 2", ""), "t")
    assert _overrun_rivals(unbanded, 900) == [("Preempt", "late"), ("Start", "early")]


def test_bands_never_change_the_order_of_starts():
    state = Scheduler(load_policy("predicted-sjf")).new_state(nodes(8))
    order = PredictedSjfOrder(PredictedSjfOrderArgs(band_ratio=4.0))
    for name, p50 in (("a", 300.0), ("b", 100.0), ("c", 5000.0), ("d", 1000.0)):
        state.submit(job(name, 0, tasks=1), estimate=DurationEstimate(p50, 2 * p50))
    keys = {name: order.sort_key(state.jobs[name], state, 0) for name in "abcd"}
    assert sorted(keys, key=keys.get) == ["b", "a", "d", "c"]
    assert [keys[n][1] for n in "bad"] == [3, 4, 4]  # 100, 300 and 1,000 GPU-s in 4x bands


@pytest.mark.parametrize("ratio", [1.0, 0.5, -2, 1001, float("nan"), "4", True])
def test_band_ratio_is_validated(ratio):
    with pytest.raises(ConfigError, match=r"PredictedSjfOrder\.band_ratio"):
        PredictedSjfOrderArgs(band_ratio=ratio).validate()
