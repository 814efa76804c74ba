"""Clusters to schedule on: published presets, inline specs, trace-sized ``auto``, TOML files.

Which traces publish their cluster (``Trace.cluster``, used when no cluster is given):

- philly-pollux -> ``philly`` (Philly's machine list: 552 nodes, 2,490 GPUs);
- openb -> ``openb`` (the trace's 1,213 GPU nodes, 6,212 GPUs);
- itp, and the Helios-format excerpts (helios-dirlab, philly-dirlab) -> none, so ``auto``.
  The philly-dirlab excerpt does come from Philly, but its header cannot tell it from a
  Helios excerpt; pass ``philly`` explicitly to replay it on Philly's machines.

Nodes whose source gives no CPU or memory get 16 cores and 128 GiB per GPU
(see :mod:`corral.clusters.node_groups`).
"""

from corral.clusters.cluster import Cluster
from corral.clusters.preset_catalog import list_presets
from corral.clusters.spec import build_cluster

__all__ = ["Cluster", "build_cluster", "list_presets"]
