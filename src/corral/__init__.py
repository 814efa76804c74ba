"""Corral: a GPU cluster scheduler for deep-learning workloads."""

__version__ = "0.1.0"
