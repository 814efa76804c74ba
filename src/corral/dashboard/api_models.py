"""What the dashboard's API answers and accepts, as pydantic models (the OpenAPI schema)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
"""A project name: a Kubernetes object name (DNS label), so it is a Queue's name live too."""
MAX_GPUS = 1_000_000.0

JobState = Literal["pending", "running", "completed", "failed", "killed", "preempted"]


class Project(BaseModel):
    """A project: a queue with its GPU quota, borrowing limit and members."""

    name: str
    parent: str | None = None
    weight: float = 1.0
    quota_gpus: float | None = None
    """Guaranteed GPUs (None: no GPU quota)."""
    borrowing_gpus: float | None = None
    """GPUs it may borrow above its quota (None: any idle capacity)."""
    members: list[str] = []
    """Offline: user names; live: the namespaces whose pods may use the queue."""


class ProjectChange(BaseModel):
    """A new project, or new values for one (what an admin may set)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME_PATTERN)
    parent: str | None = Field(default=None, pattern=NAME_PATTERN)
    weight: float = Field(default=1.0, gt=0, le=1_000_000)
    quota_gpus: float | None = Field(default=None, ge=0, le=MAX_GPUS)
    borrowing_gpus: float | None = Field(default=None, ge=0, le=MAX_GPUS)
    members: list[str] = Field(default=[], max_length=1000)


class Me(BaseModel):
    name: str
    admin: bool
    mode: Literal["live", "offline", "demo"]


class UsageSeries(BaseModel):
    """GPU-hours per day of one project."""

    key: str
    quota_gpus: float | None = None
    days: list[int]
    gpu_hours: list[float]
    total_gpu_hours: float
    attempts: int


class UserUsage(BaseModel):
    """What one user used within one project, over all days."""

    project: str
    user: str
    gpu_hours: float
    attempts: int


class UsageReport(BaseModel):
    """Day ``d`` covers ``[d * 86400, (d + 1) * 86400)`` seconds of the history's clock."""

    projects: list[UsageSeries]
    users: list[UserUsage]


class JobRow(BaseModel):
    id: str
    project: str
    user: str
    name: str = ""
    state: JobState
    gpus: float
    gpu_type: str = ""
    submit: float
    start: float | None = None
    end: float | None = None
    reason: str = ""
    """Why it waits (pending jobs)."""
    nodes: list[str] = []
    gpu_util: float | None = None
    gpu_util_peak: float | None = None
    gpu_mem_peak_mib: float | None = None


class JobPage(BaseModel):
    total: int
    offset: int
    jobs: list[JobRow]


class NodeRow(BaseModel):
    name: str
    gpu_type: str
    gpus: int
    allocated: list[float]
    """Allocated share (0-1) of each GPU."""
    utilisation: list[float | None]
    """Measured utilisation (0-1) of each GPU, where the node agent reports it."""
    unhealthy: list[int] = []
    """Indices of GPUs reported unhealthy."""
    schedulable: bool = True
    fragmented_gpus: float = 0.0
    """Free GPU capacity on this node that the pending jobs' smallest gang task cannot use."""


class DatasetRow(BaseModel):
    cache: str
    dataset: str
    cached_bytes: int
    bytes: int | None = None
    cached_share: float | None = None
    hit_ratio: float | None = None
    byte_hit_ratio: float | None = None


class RunRow(BaseModel):
    path: str
    """Relative to the runs folder."""
    summary: dict[str, str | float | int | bool | None]
    report: str | None = None
    """Relative path of its HTML report, if one was written."""
