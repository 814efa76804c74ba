"""The simulator's physics: how fast a job progresses where it runs, and what preemption costs.

Every factor is a parameter with a documented default, overridable from Python or from a TOML
file (``corral simulate --sim-config FILE``)::

    preemption_overhead_s = 30      # checkpoint + restore, charged when a preempted job resumes
    spread_slowdown = 0.1           # speed /= 1 + 0.1 per node beyond the fewest possible
    share_slowdown = 0.126          # speed /= 1 + x per other job sharing one of its GPUs
    reference_gpu_type = ""         # the type trace durations were measured on ("" = any)
    cold_cache_slowdown = 1.0       # a cold-cache epoch takes 1 + x times as long as a warm one
    job_epochs = 10                 # epochs per job: its first epoch is duration / job_epochs
    node_cache_datasets = 2         # datasets a node's data cache holds at once (LRU)
    dataset_from = ""               # "user" or "queue": jobs naming no dataset read this one
    resize_overhead_s = 30          # checkpoint + restart when an elastic job changes size
    migration_overhead_s = 30       # checkpoint + restart when a job moves at the same size
    scaling_efficiency = 0.9        # elastic speed-up: x (2 x this) per doubling of workers
    elastic_min_share = 1.0         # mark jobs elastic: min_tasks = ceil(tasks x this)
    elastic_max_factor = 1.0        #                    max_tasks = floor(tasks x this)

    [gpu_speed]                     # throughput relative to the reference type (default 1.0)
    A100-80GB = 2.0
    T4 = 0.4

    [worker_speedup]                # measured speed-up by worker count (trial runs), optional
    1 = 1.0
    4 = 3.4

Each value has a range (:data:`LIMITS`, :data:`GPU_SPEED_RANGE`; docs/usage.md, "Limits"): a
checkpoint overhead up to a day, slowdowns up to 100, speeds from 0.001 to 1000.

Trace durations are what jobs took, so a job on the reference GPU type, unshared, on the fewest
nodes its gang can use runs exactly at trace speed (factor 1). The spread penalty is mild and
round, within the range measured for communication-bound training (Tiresias §2, Gandiva §3).
The sharing penalty defaults to what was measured: the mean slowdown of the interference table
shipped with Corral (reference workloads in pairs under MPS on a real GPU, written by ``corral
profile interference``; 0.126 for the shipped H200 table), so the default follows the table.
The only trace with fractional requests (Alibaba openb) recorded its durations while pods
already shared GPUs: to replay it as FGD's simulator does, without counting interference
twice, set ``share_slowdown = 0``.

Data caching applies only to jobs that name a dataset (``Job.dataset``, or with
``dataset_from`` their user's or queue's): a job that starts on nodes whose data cache lacks
its dataset pays a cold first epoch, ``cold_cache_slowdown`` x (duration / ``job_epochs``) x
the uncached share on its worst node, booked as overhead before it makes progress; its nodes
then hold the dataset. A slowdown of 1 (a cold epoch twice as long as a warm one) is within
the data stalls CoorDL measured when the dataset is read from remote storage (Mohan et al.,
VLDB 2021, §3). Traces do not record datasets, hence ``dataset_from``: a user's jobs
mostly train on the same data.

Elastic jobs (``Job.min_tasks`` < ``max_tasks``, from a trace's ``min_tasks``/``max_tasks``
columns, or marked here for traces that record none: with ``elastic_min_share = 0.5`` and
``elastic_max_factor = 2`` a 4-GPU job may run on 2 to 8) run at the speed-up of their worker
count relative to the size their trace duration was measured at
(:mod:`corral.core.worker_scaling`): ``scaling_efficiency`` per doubling, or the measured
``worker_speedup`` table where given. Each resize pauses the job for ``resize_overhead_s``
(checkpoint, re-form the group, restore) and each migration for ``migration_overhead_s``; 30 s
each is Pollux's re-allocation penalty (OSDI'21 §5.1) and the preemption overhead here.
"""

from __future__ import annotations

import dataclasses
import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from corral.core.worker_scaling import DEFAULT_EFFICIENCY, WorkerScaling
from corral.measured import default_interference_table
from corral.model import ConfigError, InvalidSpec


@functools.cache
def measured_share_slowdown() -> float:
    """The shipped interference table's mean slowdown per co-tenant (its mean slowdown - 1)."""
    return max(0.0, default_interference_table().mean_slowdown - 1.0)


LIMITS: Mapping[str, tuple[float, float]] = MappingProxyType({
    "preemption_overhead_s": (0.0, 86_400.0),
    "spread_slowdown": (0.0, 100.0),
    "share_slowdown": (0.0, 100.0),
    "cold_cache_slowdown": (0.0, 100.0),
    "job_epochs": (1, 1_000_000),
    "node_cache_datasets": (1, 1_000_000),
    "resize_overhead_s": (0.0, 86_400.0),
    "migration_overhead_s": (0.0, 86_400.0),
    "scaling_efficiency": (0.51, 1.0),
    "elastic_min_share": (0.001, 1.0),
    "elastic_max_factor": (1.0, 64.0),
})
"""Accepted range of each numeric parameter: far beyond any measured value (an overhead of a
day, a hundredfold slowdown), close enough that every run time stays a finite, exact number."""
WHOLE = frozenset({"job_epochs", "node_cache_datasets"})
"""Parameters that are counts."""
GPU_SPEED_RANGE = (0.001, 1000.0)
"""Accepted ``gpu_speed``: no GPU type is a thousand times faster or slower than another."""


@dataclass(frozen=True)
class SimConfig:
    """Progress-model and preemption parameters (see the module docstring)."""

    preemption_overhead_s: float = 30.0
    spread_slowdown: float = 0.1
    share_slowdown: float = field(default_factory=measured_share_slowdown)
    reference_gpu_type: str = ""
    gpu_speed: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    cold_cache_slowdown: float = 1.0
    job_epochs: int = 10
    node_cache_datasets: int = 2
    dataset_from: str = ""
    resize_overhead_s: float = 30.0
    migration_overhead_s: float = 30.0
    scaling_efficiency: float = DEFAULT_EFFICIENCY
    worker_speedup: Mapping[int, float] = field(default_factory=lambda: MappingProxyType({}))
    elastic_min_share: float = 1.0
    elastic_max_factor: float = 1.0

    def __post_init__(self) -> None:
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            whole = name in WHOLE
            kind = "an integer" if whole else "a number"
            if isinstance(value, bool) or not isinstance(value, int if whole else int | float) \
                    or not low <= value <= high:
                raise ConfigError(f"sim config: {name} must be {kind} in "
                                  f"[{_shown(low)}, {_shown(high)}], got {value!r}")
        if not isinstance(self.reference_gpu_type, str):
            raise ConfigError(f"sim config: reference_gpu_type must be a GPU type name, "
                              f"got {self.reference_gpu_type!r}")
        if self.dataset_from not in ("", "user", "queue"):
            raise ConfigError(f"sim config: dataset_from must be \"user\", \"queue\" or \"\", "
                              f"got {self.dataset_from!r}")
        low, high = GPU_SPEED_RANGE
        for gpu_type, speed in self.gpu_speed.items():
            if isinstance(speed, bool) or not isinstance(speed, int | float) \
                    or not low <= speed <= high:
                raise ConfigError(f"sim config: gpu_speed.{gpu_type} must be a number in "
                                  f"[{_shown(low)}, {_shown(high)}], got {speed!r}")
        try:
            WorkerScaling(self.scaling_efficiency, self.worker_speedup)
        except InvalidSpec as exc:
            raise ConfigError(f"sim config: worker_speedup: {exc}") from None

    @property
    def scaling(self) -> WorkerScaling:
        """The worker-scaling model elastic jobs run by."""
        return WorkerScaling(self.scaling_efficiency, self.worker_speedup)

    def speed_of(self, gpu_type: str) -> float:
        """Relative throughput of *gpu_type* (1.0 for the reference and unlisted types)."""
        if gpu_type == self.reference_gpu_type:
            return 1.0
        return float(self.gpu_speed.get(gpu_type, 1.0))


def load_sim_config(path: str | Path) -> SimConfig:
    """Read a :class:`SimConfig` from a TOML file; errors name the file and the field."""
    path = Path(path)
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read sim config ({exc.strerror})") from exc
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    known = {f.name for f in dataclasses.fields(SimConfig)}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {sorted(unknown)}; known: {sorted(known)}")
    if "gpu_speed" in data and not isinstance(data["gpu_speed"], dict):
        raise ConfigError(f"{path}: gpu_speed must be a table of GPU type = speed")
    if "worker_speedup" in data:
        table = data["worker_speedup"]
        if not isinstance(table, dict) or not all(k.isdigit() for k in table):
            raise ConfigError(f"{path}: worker_speedup must be a table of worker count = "
                              "speed-up")
        data["worker_speedup"] = {int(k): v for k, v in table.items()}
    try:
        return SimConfig(**data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def _shown(bound: float) -> str:
    """``86400.0`` -> ``86,400``; ``0.001`` -> ``0.001``."""
    return f"{bound:,.0f}" if bound == int(bound) else f"{bound:g}"
