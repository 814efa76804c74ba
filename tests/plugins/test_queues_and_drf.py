"""Quota admission, DRF order and reclaiming preemption on small hand-made clusters."""

from __future__ import annotations

import pytest

from builders import job, nodes, scheduler
from corral.core import Preempt, Start
from corral.core.cycle_state import CycleState
from corral.model import GPU, InvalidSpec, Queue, QueueTree
from corral.plugins.quota_admit import QuotaAdmit
from corral.sim.config import SimConfig
from corral.sim.simulator import Simulator


def tree(**quotas: float | tuple[float, float]) -> QueueTree:
    """Flat queues: name=GPUs guaranteed, or (GPUs, borrowing limit in GPUs)."""
    out = []
    for name, spec in quotas.items():
        gpus, limit = spec if isinstance(spec, tuple) else (spec, None)
        out.append(Queue(name, {GPU: round(gpus * 1000)},
                         borrowing_limit=None if limit is None else {GPU: round(limit * 1000)}))
    return QueueTree(out)


def test_a_borrowing_limit_caps_a_queue_even_with_idle_gpus() -> None:
    sched = scheduler("drf")
    state = sched.new_state(nodes(8), tree(a=(2, 1), b=6))
    for i in range(5):
        state.submit(job(f"a{i}", queue="a"))
    result = sched.cycle(state, 0.0, assume=True)
    assert len([d for d in result.decisions if isinstance(d, Start)]) == 3  # 2 + 1 borrowed
    assert "at most 3 nvidia.com/gpu" in result.waiting["a3"].message


def test_queues_within_quota_go_before_borrowers_and_drf_balances_the_rest() -> None:
    sched = scheduler("drf")
    state = sched.new_state(nodes(4), tree(a=2, b=2))
    # a runs 3 GPUs already (one borrowed); then both queues ask for more.
    for i in range(3):
        state.submit(job(f"a{i}", queue="a", duration=1000))
    sched.cycle(state, 0.0, assume=True)
    state.submit(job("a-late", 1.0, queue="a"))
    state.submit(job("b-late", 2.0, queue="b"))
    state.submit(job("b-late2", 3.0, queue="b"))
    result = sched.cycle(state, 3.0, assume=True)
    started = [d.job_id for d in result.decisions if isinstance(d, Start)]
    # b is within quota and less served: it takes the free GPU, then reclaims the one a borrowed
    assert started == ["b-late", "b-late2"]
    victims = [d.job_id for d in result.decisions if isinstance(d, Preempt)]
    assert len(victims) == 1 and victims[0].startswith("a")
    assert "a-late" in result.waiting


def test_borrowed_gpus_are_reclaimed_for_a_queue_within_its_quota() -> None:
    sched = scheduler("drf")
    state = sched.new_state(nodes(4, 4), tree(a=4, b=4))
    for i in range(8):
        state.submit(job(f"a{i}", queue="a", duration=1000))
    sched.cycle(state, 0.0, assume=True)
    assert len(state.running) == 8  # a borrows all of b's idle quota
    state.submit(job("b0", 10.0, tasks=2, gpus=2, queue="b"))
    result = sched.cycle(state, 10.0, assume=True)
    victims = [d.job_id for d in result.decisions if isinstance(d, Preempt)]
    assert len(victims) == 4 and all(v.startswith("a") for v in victims)
    assert any(isinstance(d, Start) and d.job_id == "b0" for d in result.decisions)
    assert state.usage.of_queue("a")[GPU] == 4000  # a keeps exactly its guarantee


def test_reclaim_never_takes_a_queue_below_its_guarantee() -> None:
    sched = scheduler("drf")
    state = sched.new_state(nodes(4), tree(a=4, b=0))
    for i in range(4):
        state.submit(job(f"a{i}", queue="a", duration=1000))
    sched.cycle(state, 0.0, assume=True)
    state.submit(job("b0", 1.0, queue="b"))
    result = sched.cycle(state, 1.0, assume=True)
    assert not result.decisions  # b has no guarantee: nothing of a's is borrowed


def test_a_higher_priority_job_preempts_within_its_own_queue_only() -> None:
    sched = scheduler("drf")
    state = sched.new_state(nodes(2), tree(a=1, b=1))
    state.submit(job("a-low", queue="a", duration=1000, priority=0))
    state.submit(job("b-low", queue="b", duration=1000, priority=0))
    sched.cycle(state, 0.0, assume=True)
    state.submit(job("a-high", 1.0, queue="a", priority=5))
    result = sched.cycle(state, 1.0, assume=True)
    assert [d.job_id for d in result.decisions if isinstance(d, Preempt)] == ["a-low"]


def test_non_preemptible_jobs_are_never_victims() -> None:
    sched = scheduler("drf")
    state = sched.new_state(nodes(2), tree(a=1, b=1))
    for i in range(2):
        state.submit(job(f"a{i}", queue="a", duration=1000, preemptible=False))
    sched.cycle(state, 0.0, assume=True)
    state.submit(job("b0", 1.0, queue="b"))
    assert not sched.cycle(state, 1.0, assume=True).decisions


def test_an_unknown_queue_is_an_error_live_and_a_skip_in_a_replay() -> None:
    sched = scheduler("drf")
    state = sched.new_state(nodes(2), tree(a=1))
    with pytest.raises(InvalidSpec, match="job x: unknown queue 'nope'"):
        state.submit(job("x", queue="nope"))
    sim = Simulator(scheduler("drf"), nodes(2), [job("x", queue="nope"), job("y", queue="a")],
                    SimConfig(), queues=tree(a=1))
    sim.run()
    assert [j.id for j in sim.unknown_queue] == ["x"]
    assert [r.job.id for r in sim.runs if r.end >= 0] == ["y"]


def test_a_hierarchy_caps_the_subtree_and_shares_between_siblings() -> None:
    queues = QueueTree([
        Queue("lab", {GPU: 4000}, borrowing_limit={GPU: 0}),
        Queue("x", {GPU: 2000}, parent="lab"), Queue("y", {GPU: 2000}, parent="lab"),
        Queue("other", {GPU: 4000})])
    sched = scheduler("drf")
    state = sched.new_state(nodes(8), queues)
    for i in range(6):
        state.submit(job(f"x{i}", queue="x", duration=1000))
    sched.cycle(state, 0.0, assume=True)
    assert state.usage.of_queue("lab")[GPU] == 4000  # x borrows y's idle share, not more
    state.submit(job("y0", 1.0, queue="y"))
    result = sched.cycle(state, 1.0, assume=True)
    assert [d.job_id for d in result.decisions if isinstance(d, Preempt)][:1]
    assert any(isinstance(d, Start) and d.job_id == "y0" for d in result.decisions)


def test_a_borrower_never_takes_gpus_a_waiting_queue_is_owed() -> None:
    # a holds its 2 guaranteed GPUs; b's 2-GPU job waits (within b's guarantee). A borrowing
    # job of a must leave those 2 GPUs free until b's job no longer waits: the owed demand
    # follows b's job as it is withdrawn, resubmitted, started and preempted.
    sched = scheduler("drf")
    state = sched.new_state(nodes(4), tree(a=2, b=2))
    for i in range(2):
        state.submit(job(f"a{i}", queue="a", duration=1000))
    sched.cycle(state, 0.0, assume=True)
    admit = next(p for p in sched.profile.admits if isinstance(p, QuotaAdmit))
    borrower = job("a-more", 1.0, queue="a")
    state.submit(borrower)

    def verdict(now: float) -> str:
        status = admit.admit(CycleState(state, now), borrower)
        return "admitted" if status.ok else status.message

    state.submit(job("b0", 2.0, tasks=2, queue="b"))
    assert "owed to queue b" in verdict(2.0)
    state.withdraw("b0")
    assert verdict(3.0) == "admitted"
    state.submit(job("b1", 4.0, tasks=2, queue="b"))
    assert "owed to queue b" in verdict(4.0)
    result = sched.cycle(state, 5.0, assume=True)
    assert [d.job_id for d in result.decisions] == ["b1"]  # a-more still waits
    assert verdict(6.0) == "admitted"  # b holds its guarantee: nothing owed, a-more may borrow
    state.preempt("b1", 7.0)
    assert "owed to queue b" in verdict(7.0)
