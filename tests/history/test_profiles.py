"""Measured job profiles on stored attempts (the node agent's record_profile), on SQLite and
PostgreSQL."""

from __future__ import annotations

import pytest

from corral.history import HistoryStore


def profile(**changes: object) -> dict[str, object]:
    row = {"source": "kubernetes", "job_id": "team-a/train", "attempt": 1, "user": "team-a",
           "name": "train", "queue": "research", "tasks": 1, "gpu_milli": 500,
           "gpu_type": "NVIDIA H200", "submit": 0.0, "start": 10.0, "end": 100.0,
           "outcome": "completed", "gpu_util": 0.8, "gpu_util_peak": 0.9,
           "gpu_mem_peak_mib": 1000.0, "gpu_share_achieved": 0.4}
    return {**row, **changes}


def test_a_new_attempt_is_added_with_its_profile(db_url):
    with HistoryStore(db_url) as store:
        store.record_profile(profile())
        [row] = store.attempts()
    assert row["gpu_util"] == 0.8 and row["gpu_util_peak"] == 0.9 and row["profiled_pods"] == 1


def test_profiles_of_a_jobs_pods_merge_on_its_attempt(db_url):
    with HistoryStore(db_url) as store:
        store.add_attempts([profile(gpu_util=None, gpu_util_peak=None, gpu_mem_peak_mib=None,
                                    gpu_share_achieved=None, tasks=3, user="alice")])
        for util, peak, mem in ((0.6, 0.7, 500.0), (0.9, 1.0, 2000.0), (0.3, 0.5, 100.0)):
            store.record_profile(profile(gpu_util=util, gpu_util_peak=peak,
                                         gpu_mem_peak_mib=mem, gpu_share_achieved=util / 2))
        [row] = store.attempts()
    assert row["user"] == "alice" and row["tasks"] == 3  # the stored record is kept
    assert row["gpu_util"] == pytest.approx(0.6)
    assert row["gpu_util_peak"] == 1.0 and row["gpu_mem_peak_mib"] == 2000.0
    assert row["gpu_share_achieved"] == pytest.approx(0.9)
    assert row["profiled_pods"] == 3
