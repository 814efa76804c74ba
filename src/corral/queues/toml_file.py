"""Queue files in TOML: queues with guaranteed quotas, weights, borrowing limits and parents.

::

    default = "shared"              # optional: the leaf queue for jobs that name none

    [[queues]]
    name = "research"               # required, unique
    parent = "lab"                  # optional: an inner queue defined in the same file
    weight = 2                      # optional, default 1: fair-share weight
    quota = { gpu = 64, "gpu:A100" = 32, cpu = 512, memory_gib = 4096 }
    borrowing_limit = { gpu = 16 }  # optional: at most this much above the quota;
                                    # absent: may borrow any idle capacity
    members = ["alice", "bob"]      # optional: who may see the project in corral serve

Resources: ``gpu`` (all types), ``gpu:<TYPE>``, ``cpu`` (cores) and ``memory_gib``; the
Kubernetes names ``nvidia.com/gpu`` and ``nvidia.com/gpu:<TYPE>`` are accepted too. GPUs may
be fractional (``0.5``), to one milli-GPU. Every mistake names the file and the field.

Limits (docs/usage.md, "Limits"): at most 10,000 queues in 16 levels; a weight up to
1,000,000; an amount up to what the largest cluster has (1,000,000 GPUs, 10,000,000,000 cores,
104,857,600,000 GiB); a child's quota never above its parent's.
"""

from __future__ import annotations

import os
from typing import Any

from corral.model import CPU, GPU, GPU_OF_TYPE, MEMORY, ConfigError, InvalidSpec, Queue, QueueTree
from corral.model.limits import (
    MAX_GPUS,
    MAX_NODE_CPU_CORES,
    MAX_NODE_MEMORY_GIB,
    MAX_NODES,
    MAX_QUEUE_WEIGHT,
)
from corral.model.resources import gpus_to_milli
from corral.toml_fields import MIB_PER_GIB, TomlFields, open_toml

MAX_AMOUNTS = {GPU: MAX_GPUS, CPU: MAX_NODES * MAX_NODE_CPU_CORES,
               MEMORY: MAX_NODES * MAX_NODE_MEMORY_GIB}
"""Largest amount of each resource a quota or limit may give, in the file's units (GPUs, cores,
GiB): what the largest cluster has (:mod:`corral.model.limits`)."""
TOP_KEYS = ("default", "queues")
QUEUE_KEYS = ("name", "parent", "weight", "quota", "borrowing_limit", "members")


def load_queue_file(path: str | os.PathLike[str]) -> QueueTree:
    """Read a TOML queue file (format in the module docstring)."""
    data, fields = open_toml(path, "queue file", TOP_KEYS)
    where = fields.where
    tables = data.get("queues")
    if not isinstance(tables, list) or not tables:
        raise fields.fail("queues", "missing or empty; add at least one [[queues]] table")
    queues = [_queue(fields, table, f"queues[{i}]") for i, table in enumerate(tables)]
    default = data.get("default")
    if default is not None and not isinstance(default, str):
        raise fields.fail("default", f"must be a queue name, got {default!r}")
    try:
        return QueueTree(queues, default)
    except InvalidSpec as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _queue(fields: TomlFields, table: Any, field: str) -> Queue:
    if not isinstance(table, dict):
        raise fields.fail(field, f"must be a table, got {table!r}")
    fields.check_keys(table, QUEUE_KEYS, f"{field}.")
    name = fields.string(table, "name", f"{field}.name", default="")
    parent = table.get("parent")
    if parent is not None and (not isinstance(parent, str) or not parent):
        raise fields.fail(f"{field}.parent", f"must be a queue name, got {parent!r}")
    weight = table.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, int | float) \
            or not 0 < weight <= MAX_QUEUE_WEIGHT:
        raise fields.fail(f"{field}.weight", f"must be a number > 0 and at most "
                          f"{MAX_QUEUE_WEIGHT:,}, got {weight!r}")
    members = table.get("members", [])
    if not isinstance(members, list) or not all(isinstance(m, str) and m for m in members):
        raise fields.fail(f"{field}.members", f"must be a list of user names, got {members!r}")
    quota = _amounts(fields, table.get("quota", {}), f"{field}.quota")
    limit = table.get("borrowing_limit")
    borrowing = None if limit is None else _amounts(fields, limit, f"{field}.borrowing_limit")
    try:
        return Queue(name, quota, float(weight), borrowing, parent)
    except InvalidSpec as exc:
        raise fields.fail(field, str(exc)) from None


def _amounts(fields: TomlFields, table: Any, field: str) -> dict[str, int]:
    """``{gpu = 8, cpu = 64}`` in Corral's units (milli-GPU, milli-CPU, MiB)."""
    if not isinstance(table, dict):
        raise fields.fail(field, f"must be a table of resource = amount, got {table!r}")
    amounts: dict[str, int] = {}
    for key in table:
        value = fields.number(table, key, f"{field}.{key}", required=True)
        assert value is not None
        resource = _resource(key)
        if resource is None:
            raise fields.fail(f"{field}.{key}", "unknown resource; use gpu, gpu:<TYPE>, cpu "
                              "or memory_gib")
        most = MAX_AMOUNTS[CPU if resource == CPU else MEMORY if resource == MEMORY else GPU]
        if value > most:
            raise fields.fail(f"{field}.{key}", f"{value:g} is more than the {most:,} a cluster "
                              "may have")
        if resource == CPU:
            amounts[resource] = round(value * 1000)
        elif resource == MEMORY:
            amounts[resource] = round(value * MIB_PER_GIB)
        else:
            try:
                amounts[resource] = gpus_to_milli(value)
            except InvalidSpec as exc:
                raise fields.fail(f"{field}.{key}", str(exc)) from None
    return amounts


def _resource(key: str) -> str | None:
    """The canonical resource name for a key of a quota table, or None if unknown."""
    if key in ("gpu", GPU):
        return GPU
    for prefix in ("gpu:", GPU_OF_TYPE):
        if key.startswith(prefix) and len(key) > len(prefix):
            return GPU_OF_TYPE + key[len(prefix):]
    return {"cpu": CPU, "memory_gib": MEMORY}.get(key)
