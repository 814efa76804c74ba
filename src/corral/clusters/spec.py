"""``build_cluster``: one entry point for every way of naming a cluster."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from corral.clusters import auto, inline
from corral.clusters.cluster import Cluster
from corral.clusters.preset_catalog import PRESETS
from corral.clusters.toml_file import load_cluster_file
from corral.model import ConfigError

if TYPE_CHECKING:
    from corral.traces import Trace


def build_cluster(spec: str | os.PathLike[str] | None, trace: Trace | None = None) -> Cluster:
    """The cluster ``spec`` names; ``trace`` is needed only to size ``auto`` clusters.

    ``spec`` is, in the order tried: a preset name (``philly``, ``openb``), ``auto[:LOAD]``,
    an inline spec (``40x8``, ``300x8:V100,100x4:T4``) or a TOML file (a path ending in
    ``.toml`` or any existing file). ``None`` means the trace's published preset if it has one,
    else ``auto``. Presets come before files, so a file named like a preset never shadows it.
    """
    if spec is None:
        if trace is not None and trace.cluster is not None:
            return _preset(trace.cluster)
        return auto.auto_cluster(trace)
    if not isinstance(spec, str):
        return load_cluster_file(spec)
    text = spec.strip()
    if text in PRESETS:
        return _preset(text)
    load = auto.parse_auto(text)
    if load is not None:
        return auto.auto_cluster(trace, load)
    cluster = inline.parse_inline(text)
    if cluster is not None:
        return cluster
    if text.lower().endswith(".toml") or Path(text).is_file():
        return load_cluster_file(text)
    raise ConfigError(
        f"unknown cluster {spec!r}; use a preset ({', '.join(PRESETS)}), {auto.FORM}, "
        f"{inline.FORM}, or a TOML cluster file (*.toml)"
    )


def _preset(name: str) -> Cluster:
    if name not in PRESETS:
        raise ConfigError(f"unknown cluster preset {name!r}; presets: {', '.join(PRESETS)}")
    _, build = PRESETS[name]
    return build()
