"""The cluster's expected fragmented GPU capacity, kept current as jobs start and stop.

A backend re-measures only the nodes an event touched. Node states recur (an 8-GPU node with
two whole GPUs taken looks the same whichever job took them), so measurements are memoised by
node state and most events cost a dictionary lookup rather than a numpy call.
"""

from __future__ import annotations

from corral.core import ClusterState
from corral.core.fragmentation import FragmentationMeasure, TaskTypes
from corral.core.placement import Placement


class FragmentationTracker:
    """Expected fragmented milli-GPUs per node and in all, under a fixed workload."""

    def __init__(self, state: ClusterState, types: TaskTypes) -> None:
        self._state = state
        self._measure = measure = FragmentationMeasure(types, state.gpu_types)
        self._by_state: dict[object, float] = {}
        self.node_frag: list[float] = measure(
            state.gpu_free, state.cpu_free, state.mem_free, state.node_type).tolist()
        self.total = float(sum(self.node_frag))
        """Expected fragmented milli-GPUs of the whole cluster."""
        # What a node's measurement depends on beyond its GPUs: only what the workload asks for.
        self._extra = tuple(array for array, used in (
            (state.cpu_free, measure.uses_cpu), (state.mem_free, measure.uses_memory),
            (state.node_type, measure.uses_gpu_type)) if used)

    def touch(self, placement: Placement) -> None:
        """Re-measure the nodes of *placement*, whose capacity was just taken or given back.

        Runs on every start, finish and preemption, hence the plain-bytes key when the
        workload asks for GPUs only.
        """
        rows, known, frag, extra = self._state.gpu_free, self._by_state, self.node_frag, self._extra
        for grant in placement.grants:
            node = grant.node
            key: object = rows[node].tobytes()
            if extra:
                key = (key, *(int(array[node]) for array in extra))
            value = known.get(key)
            if value is None:
                value = known[key] = self._measure_node(node)
            self.total += value - frag[node]
            frag[node] = value

    def _measure_node(self, node: int) -> float:
        state, rows = self._state, slice(node, node + 1)
        return float(self._measure(state.gpu_free[rows], state.cpu_free[rows],
                                   state.mem_free[rows], state.node_type[rows])[0])
