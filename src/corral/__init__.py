"""Corral: a GPU cluster scheduler for deep-learning workloads.

``corral.simulate(trace, policy=..., cluster=..., seed=...)`` replays a trace through the same
scheduling core that runs live, and returns the summary, a per-job table and a time series.

``import corral`` loads nothing else: the simulator (with pandas and the predictor) loads on
the first use of ``corral.simulate``, so the live scheduler and the node agent, which import
``corral.k8s`` and ``corral.agent``, start without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from corral.api import simulate

__all__ = ["__version__", "simulate"]


def __getattr__(name: str) -> Any:
    # PEP 562: ``corral.simulate`` and ``from corral import simulate`` import the API on demand.
    if name == "simulate":
        from corral.api import simulate

        return simulate
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
