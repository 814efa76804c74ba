"""Small builders for hand-made clusters, jobs and policies used across the tests."""

from __future__ import annotations

from pathlib import Path

from corral.core import Profile, Scheduler
from corral.model import Job, Node
from corral.policies import load_policy, parse_policy


def nodes(*gpus: int, gpu_type: str = "GPU", cpu: int = 64_000, mem: int = 512_000) -> list[Node]:
    """One node per argument, named n0, n1, ... with that many GPUs."""
    return [Node(f"n{i}", g, gpu_type, cpu, mem) for i, g in enumerate(gpus)]


def job(job_id: str, submit: float = 0.0, *, tasks: int = 1, gpus: float = 1, duration: float = 100,
        **kw: object) -> Job:
    """A job of *tasks* tasks with *gpus* GPUs each (0.25 = a quarter of one GPU)."""
    return Job(job_id, submit, tasks=tasks, gpu_milli=round(gpus * 1000), duration=duration,
               **kw)  # type: ignore[arg-type]


def scheduler(policy: str = "fifo") -> Scheduler:
    """A scheduler running a built-in policy."""
    return Scheduler(load_policy(policy))


PREEMPTIVE_TOML = """
name = "fifo-preemptive"
description = "fifo with priority preemption (tests)"
blocking = false
[plugins]
queue_sort = "FifoOrder"
filter = ["ResourceFit", "GpuTypeFilter"]
score = [{ name = "Locality", weight = 10 }, { name = "BestFit", weight = 1 }]
permit = ["StrictGang", "Locality"]
post_filter = ["PriorityPreemption"]
[plugin_args.Locality]
max_extra_nodes = 0
"""


def preemptive_profile() -> Profile:
    """FIFO with gang-aware priority preemption."""
    return parse_policy(PREEMPTIVE_TOML, "tests")


def write_trace(path: Path, jobs: int = 40) -> Path:
    """A small Philly-format trace: one job a minute, 1 or 2 GPUs, 10 to 30 minutes each."""
    rows = [f"2017-10-01 00:{i:02d}:00,{600 + 30 * (i % 41)},{1 + i % 2},0,vc"
            for i in range(jobs)]
    path.write_text("timestamp,duration,num_gpus,gpu_time,cluster\n" + "\n".join(rows) + "\n",
                    encoding="utf-8")
    return path
