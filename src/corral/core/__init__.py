"""The scheduling core: snapshot in, decisions out. Knows no simulator and no Kubernetes."""

from corral.core.capacity_index import CapacityIndex
from corral.core.cluster_state import ClusterState, RunningJob
from corral.core.cycle_state import CycleState
from corral.core.decisions import Decision, Preempt, Resize, Start
from corral.core.job_records import JobRecords
from corral.core.pending_queue import PendingQueue
from corral.core.placement import NodeGrant, Placement
from corral.core.profile import Profile
from corral.core.scheduler import CycleResult, Scheduler
from corral.core.status import OK, Code, Status

__all__ = [
    "OK",
    "CapacityIndex",
    "ClusterState",
    "Code",
    "CycleResult",
    "CycleState",
    "Decision",
    "JobRecords",
    "NodeGrant",
    "PendingQueue",
    "Placement",
    "Preempt",
    "Profile",
    "Resize",
    "RunningJob",
    "Scheduler",
    "Start",
    "Status",
]
