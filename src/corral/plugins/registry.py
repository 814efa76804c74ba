"""Every in-tree plugin by name: one literal map, as kube-scheduler's in-tree registry is.

A plugin class with arguments carries them as a frozen dataclass in ``Args`` (with a
``validate()``) and takes it in its constructor; one without takes no arguments.
"""

from __future__ import annotations

from corral.model import ConfigError
from corral.plugins.best_fit_score import BestFit
from corral.plugins.data_locality import DataLocality
from corral.plugins.drf_order import DrfOrder
from corral.plugins.easy_backfill import EasyBackfill
from corral.plugins.elastic_resize import ElasticResize
from corral.plugins.fgd_score import FgdScore
from corral.plugins.fifo_order import FifoOrder
from corral.plugins.goodput_resize import GoodputResize
from corral.plugins.gpu_type_filter import GpuTypeFilter
from corral.plugins.heterogeneity_aware import HeterogeneityAware
from corral.plugins.interference_score import InterferenceScore
from corral.plugins.las_order import LasOrder
from corral.plugins.locality import Locality
from corral.plugins.migration_defrag import MigrationDefrag
from corral.plugins.node_rules_filter import NodeRulesFilter
from corral.plugins.order_preemption import OrderPreemption
from corral.plugins.predicted_sjf_order import PredictedSjfOrder
from corral.plugins.priority_order import PriorityOrder
from corral.plugins.priority_preemption import PriorityPreemption
from corral.plugins.queue_preemption import QueuePreemption
from corral.plugins.quota_admit import QuotaAdmit
from corral.plugins.resource_fit import ResourceFit
from corral.plugins.spread_score import Spread
from corral.plugins.srtf_order import SrtfOrder
from corral.plugins.strict_gang import StrictGang

REGISTRY: dict[str, type] = {
    cls.name: cls
    for cls in (
        FifoOrder,
        LasOrder,
        SrtfOrder,
        PredictedSjfOrder,
        PriorityOrder,
        DrfOrder,
        EasyBackfill,
        QuotaAdmit,
        ResourceFit,
        GpuTypeFilter,
        NodeRulesFilter,
        BestFit,
        Spread,
        FgdScore,
        Locality,
        HeterogeneityAware,
        DataLocality,
        InterferenceScore,
        StrictGang,
        PriorityPreemption,
        OrderPreemption,
        QueuePreemption,
        ElasticResize,
        GoodputResize,
        MigrationDefrag,
    )
}


def register(cls: type) -> None:
    """Add an out-of-tree plugin class; a name already taken is an error."""
    if cls.name in REGISTRY:
        raise ConfigError(f"a plugin named {cls.name!r} is already registered")
    REGISTRY[cls.name] = cls


def unregister(name: str) -> None:
    """Remove a plugin added with :func:`register` (tests use this to clean up)."""
    REGISTRY.pop(name, None)
