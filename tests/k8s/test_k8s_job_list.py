"""``corral jobs`` live: Corral's pods only, state, why pending pods wait, node, GPUs."""

from __future__ import annotations

from k8s_builders import pod

from corral.k8s.job_list import live_job_rows


def _event(name: str, message: str, stamp: str) -> dict:
    return {"reason": "CorralWaiting", "message": message, "lastTimestamp": stamp,
            "involvedObject": {"kind": "Pod", "namespace": "ml", "name": name}}


def test_rows_say_state_reason_node_and_gpus() -> None:
    pods = [pod("waits", 4, namespace="ml", queue="team-a"),
            pod("runs", 2, namespace="ml", queue="team-a", node_name="n1"),
            pod("other", 1, namespace="ml", scheduler="default-scheduler")]
    events = [_event("waits", "old reason", "2024-01-01T00:00:00Z"),
              _event("waits", "queue team-a is at its quota", "2024-01-01T00:01:00Z")]
    rows = {row.job: row for row in live_job_rows(pods, events, now=1e10)}
    assert set(rows) == {"ml/waits", "ml/runs"}
    assert (rows["ml/waits"].state, rows["ml/waits"].reason, rows["ml/waits"].gpus) == (
        "pending", "queue team-a is at its quota", 4)
    assert (rows["ml/runs"].state, rows["ml/runs"].node, rows["ml/runs"].user,
            rows["ml/runs"].queue) == ("running", "n1", "ml", "team-a")


def test_a_pod_corral_cannot_read_says_why() -> None:
    bad = pod("bad", limits={"nvidia.com/gpu": "lots"}, namespace="ml")
    (row,) = live_job_rows([bad], [], now=0.0)
    assert row.state == "pending" and "ml/bad" in row.reason
