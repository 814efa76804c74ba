"""Per-pod GPU profiles, measured tick by tick and written to the job history when a pod ends.

A profile says how much of what the pod held it used: ``gpu_util`` (average) and
``gpu_util_peak`` as fractions of the GPUs it held (1.0: all of its share or GPUs busy),
``gpu_mem_peak_mib``, and ``gpu_share_achieved``, the GPUs' worth of compute it used on
average, against ``gpu_milli`` / 1000 requested. These are the columns the duration predictor
and ``corral history stats`` read next to the job's attempt. The utilisation columns average
only the ticks where the pod's use could be told apart from its GPU neighbours' (see
``NodeAgent._pod_uses``), and stay empty where it never could.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from corral import kube_contract as contract
from corral.agent.kube import PodInfo

SOURCE = "kubernetes"
"""History rows from live pods have this source; their job id is ``namespace/job``."""
ATTEMPT_LABEL = f"{contract.GROUP}/attempt"

_OUTCOMES = {"Succeeded": "completed", "Failed": "failed"}


@dataclass
class PodProfile:
    """What one pod did so far."""

    pod: PodInfo
    held_gpus: float
    gpu_type: str
    samples: int = 0
    """Ticks that told the pod's busy SMs (``achieved_gpus`` not None)."""
    achieved_sum: float = 0.0
    achieved_peak: float = 0.0
    memory_peak_mib: float = 0.0

    def observe(self, achieved_gpus: float | None, memory_mib: float) -> None:
        self.memory_peak_mib = max(self.memory_peak_mib, memory_mib)
        if achieved_gpus is None:
            return
        self.samples += 1
        self.achieved_sum += achieved_gpus
        self.achieved_peak = max(self.achieved_peak, achieved_gpus)

    @property
    def achieved(self) -> float | None:
        """GPUs' worth of SMs busy on average, None if never told."""
        return self.achieved_sum / self.samples if self.samples else None

    def history_row(self, outcome: str, now: float) -> dict[str, Any]:
        pod = self.pod
        achieved = self.achieved
        held = self.held_gpus
        submit = pod.created
        start = max(submit, pod.started or submit)
        return {
            "source": SOURCE, "job_id": f"{pod.namespace}/{pod.job}",
            "attempt": int(pod.labels.get(ATTEMPT_LABEL, "1") or 1),
            "user": pod.labels.get(contract.USER_LABEL, pod.namespace), "name": pod.job,
            "queue": pod.queue, "tasks": 1,
            "gpu_milli": round(self.held_gpus * 1000), "gpu_type": self.gpu_type,
            "submit": submit, "start": start, "end": max(start, now), "outcome": outcome,
            "gpu_util": None if achieved is None else achieved / held,
            "gpu_util_peak": None if achieved is None else self.achieved_peak / held,
            "gpu_mem_peak_mib": self.memory_peak_mib, "gpu_share_achieved": achieved,
        }


class ProfileBook:
    """The profiles of the pods that hold GPUs on this node, by pod UID."""

    def __init__(self) -> None:
        self._profiles: dict[str, PodProfile] = {}

    def observe(self, pod: PodInfo, held_gpus: float, gpu_type: str,
                achieved_gpus: float | None, memory_mib: float) -> None:
        profile = self._profiles.get(pod.uid)
        if profile is None:
            profile = self._profiles[pod.uid] = PodProfile(pod, held_gpus, gpu_type)
        profile.pod = pod
        profile.observe(achieved_gpus, memory_mib)

    def utilisation(self, pod_uid: str) -> float | None:
        """The pod's mean GPU utilisation so far (of what it holds), None if never seen."""
        profile = self._profiles.get(pod_uid)
        if profile is None or profile.achieved is None or not profile.held_gpus:
            return None
        return profile.achieved / profile.held_gpus

    def ended(self, pods: dict[str, PodInfo], now: float) -> list[dict[str, Any]]:
        """History rows of the profiled pods that finished or are gone (*pods*: the node's pods
        by UID), removed from the book."""
        rows = []
        for uid in list(self._profiles):
            pod = pods.get(uid)
            if pod is not None and not pod.finished:
                continue
            profile = self._profiles.pop(uid)
            outcome = _OUTCOMES.get(pod.phase, "killed") if pod is not None else "killed"
            rows.append(profile.history_row(outcome, now))
        return rows
