"""Predicted run times live: learnt from the job-history store, read again as rows arrive, and
used by ``predicted-sjf`` to start the job its history says is short first."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from k8s_builders import bound_to, emulated, live, node, pod, run, until

from corral.history import HistoryStore
from corral.k8s import live_estimates
from corral.k8s.live_estimates import HistoryEstimates
from corral.model import Job

HOUR = 3600.0


def attempt(i: int, user: str, seconds: float, *, end: float | None = None,
            outcome: str = "completed", name: str = "train") -> dict[str, Any]:
    end = 1_000_000.0 + i * 60.0 if end is None else end
    return {"source": "trace", "job_id": f"{user}-{i}", "attempt": 0, "user": user,
            "name": f"{user}-{name}", "queue": "default", "tasks": 1, "gpu_milli": 1000,
            "gpu_type": "", "submit": end - seconds, "start": end - seconds, "end": end,
            "outcome": outcome, "gpu_util": None, "gpu_mem_peak_mib": None}


def habits(n: int) -> list[dict[str, Any]]:
    """Alice's jobs take five minutes, Bob's ten hours, every time."""
    return [attempt(i, user, 300.0 if user == "alice" else 10 * HOUR)
            for i in range(n) for user in ("alice", "bob")]


@pytest.fixture
def store(tmp_path) -> HistoryStore:
    return HistoryStore(f"sqlite:///{tmp_path / 'history.db'}")


def new_job(user: str, now: float, name: str = "train") -> Job:
    return Job(id=f"default/{user}-new", submit=now, user=user, name=f"{user}-{name}")


def test_estimates_learn_each_users_habits_from_the_store(store) -> None:
    store.add_attempts(habits(150))
    store.add_attempts([attempt(999, "bob", 60.0, outcome="preempted")])
    estimates = HistoryEstimates(store, clock=lambda: 2_000_000.0)
    assert estimates.refresh() == 300, "every finished attempt once, the preempted one not"
    assert estimates.refresh() == 0, "a second read adds nothing"
    assert estimates.predictor.trainings >= 1
    answer = estimates.predictor.predict(new_job("alice", 2_000_000.0), 2_000_000.0, live=True)
    assert answer.source == "model", "a trained model answers, not the fallback chain"
    alice = estimates.estimate(new_job("alice", 2_000_000.0), 2_000_000.0)
    bob = estimates.estimate(new_job("bob", 2_000_000.0), 2_000_000.0)
    assert alice.p50 == pytest.approx(300.0, rel=0.5)
    assert bob.p50 == pytest.approx(10 * HOUR, rel=0.5)
    assert alice.p50 <= alice.p90 and bob.p50 <= bob.p90


def test_rows_written_late_are_read_once(store) -> None:
    store.add_attempts(habits(10))
    estimates = HistoryEstimates(store, clock=lambda: 0.0)
    assert estimates.refresh() == 20
    latest = max(row["end"] for row in habits(10))
    late = attempt(50, "carol", 100.0, end=latest - live_estimates.OVERLAP_S / 2)
    store.add_attempts([late, attempt(51, "carol", 100.0, end=latest + 10.0)])
    assert estimates.refresh() == 2, "a row committed after a later-ending one still counts"
    assert estimates.refresh() == 0
    assert estimates.learnt == 22


def test_a_malformed_row_is_skipped_and_the_rest_learnt(store, caplog) -> None:
    estimates = HistoryEstimates(store, clock=lambda: 0.0)
    bad = attempt(1, "dave", 100.0) | {"tasks": 0}
    with caplog.at_level(logging.WARNING, logger="corral.k8s.live_estimates"):
        assert estimates.learn([bad, attempt(2, "dave", 100.0)], 2_000_000.0) == 1
    assert "trace/dave-1" in caplog.text and "tasks" in caplog.text


def test_predicted_sjf_live_starts_the_job_its_history_says_is_short(store) -> None:
    store.add_attempts(habits(150))

    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(node("n0", 1))
            emu.create(pod("other", 1, scheduler="default-scheduler", node_name="n0"))
            for user in ("bob", "alice"):  # bob's long job is created first
                emu.create(pod(f"{user}-job", 1, namespace=user,
                               labels={"corral.dev/job": f"{user}-train"}))
            async with live(emu, "predicted-sjf", history=store) as scheduler:
                assert scheduler.estimates is not None and scheduler.estimates.learnt == 300
                await until(lambda: scheduler.cache.state is not None and
                            len(scheduler.cache.state.estimates) == 3)
                state = scheduler.cache.state
                assert state is not None
                assert state.estimates["pod/alice/alice-job"].p50 < \
                    state.estimates["pod/bob/bob-job"].p50
                emu.delete("pods", "other", "default")
                await until(lambda: "alice/alice-job" in bound_to(emu))
                assert "bob/bob-job" not in bound_to(emu)

    run(scenario)
