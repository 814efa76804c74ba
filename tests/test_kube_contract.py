"""The scheduler and the node agent file a pod under the same queue and job: one rule, in the
module both import, so a pod's metrics and history rows name the queue it was admitted to."""

from __future__ import annotations

from typing import Any

import pytest

from corral.agent.kube import pod_from_json as agent_pod
from corral.k8s.pods import pod_from_api as scheduler_pod
from corral.kube_contract import JOB_LABELS, QUEUE_LABELS


def pod(labels: dict[str, str]) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "team-a", "uid": "u", "labels": labels},
            "spec": {"schedulerName": "corral", "containers": []}, "status": {}}


@pytest.mark.parametrize("labels", [
    {},
    {QUEUE_LABELS[1]: "kueue-q"},
    {QUEUE_LABELS[0]: "ours", QUEUE_LABELS[1]: "kueue-q"},
    {QUEUE_LABELS[0]: "", QUEUE_LABELS[1]: "kueue-q"},
    {JOB_LABELS[1]: "train-7"},
    {JOB_LABELS[0]: "mine", JOB_LABELS[1]: "train-7", QUEUE_LABELS[0]: "ours"},
], ids=["none", "kueue", "corral-wins", "empty-corral-label", "job-name", "both"])
def test_the_agent_and_the_scheduler_read_a_pods_queue_and_job_alike(labels) -> None:
    seen_by_agent, seen_by_scheduler = agent_pod(pod(labels)), scheduler_pod(pod(labels))
    assert seen_by_agent.queue == seen_by_scheduler.queue
    assert seen_by_agent.job == (seen_by_scheduler.job_name or seen_by_scheduler.name)
