"""Corral: a GPU cluster scheduler for deep-learning workloads.

``corral.simulate(trace, policy=..., cluster=..., seed=...)`` replays a trace through the same
scheduling core that runs live, and returns the summary, a per-job table and a time series.
"""

__version__ = "0.1.0"

from corral.api import simulate

__all__ = ["__version__", "simulate"]
