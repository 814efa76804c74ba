"""A training job: a gang of identical tasks, all placed or none."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from corral.model.errors import InvalidSpec
from corral.model.limits import MAX_JOB_GPUS
from corral.model.node_constraints import NodeConstraints
from corral.model.resources import MILLI, check_task_gpu_milli

DEFAULT_QUEUE = "default"


@dataclass(frozen=True, slots=True)
class Job:
    """A gang of ``tasks`` identical tasks, each asking for ``gpu_milli`` milli-GPUs.

    ``gpu_milli`` < 1000 is a share of one specific GPU; otherwise a multiple of 1000 whole
    GPUs, all on the task's node. ``cpu_milli`` and ``memory_mib`` are per task.
    ``gpu_types`` restricts the GPU models a job may use (empty: any); ``preferred_gpu_types``
    only steers scoring. ``duration`` is the run time at reference speed, known to the
    simulator and hidden from policies that are not declared *oracle*. ``time_limit`` is the
    run time the user asked for (a Slurm ``--time``), which backfill may trust as an estimate.
    ``dataset`` names the training dataset the job reads ("" = none known), for data-aware
    placement. ``node_rules`` are node selectors, required node affinity and tolerations, each
    of which every node the job uses must satisfy (a gang's members may carry different ones);
    the core honours them in every policy (the NodeRules filter). ``eligible_nodes`` names the
    only nodes its tasks may use (None: any node), for what restricts placement beyond
    resources and node rules (a live backend's rules about other pods).
    ``max_tasks_per_node`` caps the tasks one node may take (None: no cap): a gang whose
    members must not share a node (Kubernetes anti-affinity among them by hostname) is placed
    on distinct nodes by the core itself, not rejected after the fact.

    ``min_tasks`` <= ``tasks`` <= ``max_tasks`` is the gang's size range (both default to
    ``tasks``: a rigid gang). A start places all-or-nothing up to ``min_tasks`` (a PodGroup's
    minMember, ``torchrun --nnodes=MIN:MAX``) and extra members up to ``tasks`` as they fit;
    an elastic policy may later grow the job up to ``max_tasks`` and shrink it back to
    ``min_tasks``. ``duration`` is the run time at ``tasks`` members. A running job is
    booked at the size it runs at (:meth:`with_tasks`), so accounting reads ``tasks``.
    """

    id: str
    submit: float
    tasks: int = 1
    gpu_milli: int = MILLI
    cpu_milli: int = 0
    memory_mib: int = 0
    gpu_types: tuple[str, ...] = ()
    preferred_gpu_types: tuple[str, ...] = ()
    priority: int = 0
    queue: str = DEFAULT_QUEUE
    user: str = ""
    name: str = ""
    duration: float | None = None
    preemptible: bool = True
    outcome: str = ""
    time_limit: float | None = None
    dataset: str = ""
    max_tasks_per_node: int | None = None
    node_rules: tuple[NodeConstraints, ...] = ()
    eligible_nodes: frozenset[str] | None = None
    min_tasks: int = 0
    """Smallest gang that may run (0: ``tasks``, set so by validation)."""
    max_tasks: int = 0
    """Largest gang an elastic policy may grow to (0: ``tasks``, set so by validation)."""
    shape: tuple[int, int, int, int, int, tuple[str, ...], int | None,
                 tuple[NodeConstraints, ...], frozenset[str] | None] = field(
        init=False, repr=False, compare=False)
    """What placement depends on: jobs of one shape fit, or fail to fit, alike."""
    total_gpu_milli: int = field(init=False, repr=False, compare=False)
    """Total milli-GPUs of the gang (exact); a field because the scheduler reads it often."""

    def __post_init__(self) -> None:
        if not self.id:
            raise InvalidSpec("a job needs an id")
        if not isinstance(self.tasks, int) or self.tasks < 1:
            raise InvalidSpec(f"job {self.id}: tasks must be an integer >= 1, got {self.tasks!r}")
        check_task_gpu_milli(self.gpu_milli)
        if self.cpu_milli < 0 or self.memory_mib < 0:
            raise InvalidSpec(f"job {self.id}: CPU and memory requests must be >= 0")
        if not math.isfinite(self.submit) or self.submit < 0:
            raise InvalidSpec(f"job {self.id}: submit time must be finite and >= 0")
        if self.duration is not None and (not math.isfinite(self.duration) or self.duration < 0):
            raise InvalidSpec(f"job {self.id}: duration must be finite and >= 0")
        if self.time_limit is not None and not self.time_limit > 0:
            raise InvalidSpec(f"job {self.id}: time_limit must be > 0")
        if self.eligible_nodes is not None and not isinstance(self.eligible_nodes, frozenset):
            raise InvalidSpec(f"job {self.id}: eligible_nodes must be a frozenset of node names "
                              "or None")
        if not isinstance(self.node_rules, tuple) or not all(
                isinstance(r, NodeConstraints) for r in self.node_rules):
            raise InvalidSpec(f"job {self.id}: node_rules must be a tuple of NodeConstraints")
        if self.max_tasks_per_node is not None and (
                not isinstance(self.max_tasks_per_node, int) or self.max_tasks_per_node < 1):
            raise InvalidSpec(f"job {self.id}: max_tasks_per_node must be an integer >= 1 or "
                              f"None, got {self.max_tasks_per_node!r}")
        self._check_range()
        # A frozenset caches its hash, so a shape with thousands of node names still hashes
        # cheaply every cycle; a backend that hands equal sets out as one object keeps the
        # shape comparisons that follow a hash match cheap too.
        self._set_derived()

    def _check_range(self) -> None:
        """Resolve 0 to ``tasks`` and check ``1 <= min_tasks <= tasks <= max_tasks``."""
        for name in ("min_tasks", "max_tasks"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidSpec(f"job {self.id}: {name} must be an integer >= 1 "
                                  f"(0: tasks), got {value!r}")
            if value == 0:
                object.__setattr__(self, name, self.tasks)
        if self.min_tasks > self.tasks:
            raise InvalidSpec(f"job {self.id}: min_tasks {self.min_tasks} exceeds tasks "
                              f"{self.tasks}")
        if self.max_tasks < self.tasks:
            raise InvalidSpec(f"job {self.id}: max_tasks {self.max_tasks} is below tasks "
                              f"{self.tasks}")
        # Room to grow is bounded here; a rigid job's own size is for the trace readers and the
        # cluster to judge (a job built in Python may ask for more than any cluster has).
        if self.max_tasks > self.tasks and \
                self.max_tasks * max(self.gpu_milli, MILLI) > MAX_JOB_GPUS * MILLI:
            raise InvalidSpec(f"job {self.id}: max_tasks {self.max_tasks} asks for more than "
                              f"{MAX_JOB_GPUS:,} GPUs")

    def _set_derived(self) -> None:
        object.__setattr__(self, "shape", (self.tasks, self.min_tasks, self.gpu_milli,
                                           self.cpu_milli, self.memory_mib, self.gpu_types,
                                           self.max_tasks_per_node, self.node_rules,
                                           self.eligible_nodes))
        object.__setattr__(self, "total_gpu_milli", self.tasks * self.gpu_milli)

    def with_tasks(self, tasks: int) -> Job:
        """The same job booked at *tasks* members (a partly placed or resized gang), its range
        unchanged; *tasks* must lie in it. Copies slot by slot, as :meth:`without_duration`."""
        if tasks == self.tasks:
            return self
        if not self.min_tasks <= tasks <= self.max_tasks:
            raise InvalidSpec(f"job {self.id}: {tasks} tasks is outside its range "
                              f"{self.min_tasks}-{self.max_tasks}")
        clone = object.__new__(Job)
        for name in _SLOTS:
            object.__setattr__(clone, name, getattr(self, name))
        object.__setattr__(clone, "tasks", tasks)
        clone._set_derived()
        return clone

    def without_duration(self) -> Job:
        """The same job with its duration hidden, as non-oracle policies must see it.

        Copies slot by slot (no re-validation): the simulator does this once per job.
        """
        clone = object.__new__(Job)
        for name in _SLOTS:
            object.__setattr__(clone, name, getattr(self, name))
        object.__setattr__(clone, "duration", None)
        return clone

    @property
    def is_elastic(self) -> bool:
        """True when the gang may run at more than one size."""
        return self.min_tasks < self.max_tasks

    @property
    def gpus_per_task(self) -> float:
        """GPUs per task as a number (0.25, 1, 8); for display, never for accounting."""
        return self.gpu_milli / MILLI

    @property
    def gpus(self) -> float:
        """Total GPUs of the gang, for display and metrics."""
        return self.tasks * self.gpu_milli / MILLI

    @property
    def is_fractional(self) -> bool:
        """True when each task takes a share of a single GPU."""
        return 0 < self.gpu_milli < MILLI

    @property
    def whole_gpus_per_task(self) -> int:
        """Whole GPUs per task; 0 for fractional and CPU-only tasks."""
        return self.gpu_milli // MILLI


_SLOTS = Job.__slots__
