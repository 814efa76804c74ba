"""Measured interference: reference workloads alone and in pairs under MPS, on one GPU.

Each workload runs alone at a compute share, then beside each other workload (both at that
share); a pair's slowdown for a workload is its alone throughput over its paired throughput,
so the share's own cap is not counted as interference. While a workload runs alone, the GPU's
utilisation is sampled (NVML), so that the table can check the rule of thumb "pack only while
utilisation stays at or below 70%" (:func:`corral.measured.check_rule`).

The table is written as ``interference.csv`` in :mod:`corral.measured.interference_table`'s
format (``source: measured``, the GPU model, driver and date in its header), which the
InterferenceScore plugin reads, and summarised in ``sim-config.toml``: ``share_slowdown`` (the
mean slowdown minus one, per co-tenant) is the parameter the simulator's sharing model reads.
"""

from __future__ import annotations

import itertools
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from corral.agent.mps import MpsDaemons, client_env
from corral.agent.shares import GpuShare
from corral.agent.workloads import ALLOC_PREFIX, THROUGHPUT_PREFIX, WORKLOADS
from corral.measured import PairSlowdown, format_interference_table
from corral.model import ConfigError, CorralError

CLIENT_GRACE_S = 120.0
"""Start-up (CUDA context, warm-up) allowed to a client beyond its measured seconds."""
SAMPLE_EVERY_S = 0.5
"""How often GPU utilisation is sampled while a workload runs alone."""

UtilSampler = Callable[[], float | None]
"""The GPU's utilisation now (0-1), or None if it cannot be read."""


@dataclass(frozen=True)
class Client:
    """One workload process under MPS: what it runs and the share it is limited to."""

    workload: str
    share: GpuShare
    seconds: float = 10.0
    alloc_mib: int = 0
    """With workload ``alloc``: the MiB it tries to allocate."""


def pair_row(workload: str, partner: str, share: float, alone: float, paired: float,
             workload_util: float | None = None,
             partner_util: float | None = None) -> PairSlowdown:
    """The table row of *workload* measured at *alone* steps/s by itself and *paired* beside
    *partner*: its slowdown is the ratio of the two."""
    slowdown = alone / paired if paired > 0 else float("inf")
    return PairSlowdown(workload, partner, share, slowdown, alone, paired, workload_util,
                        partner_util)


def start_client(mps: MpsDaemons, gpu_uuid: str, client: Client) -> subprocess.Popen[str]:
    """Start *client* on its GPU's MPS daemon, limited as Allocate would limit a pod."""
    env = {**client_env(client.share, gpu_uuid),
           "CUDA_VISIBLE_DEVICES": gpu_uuid,  # no container runtime on the bare host
           "CUDA_MPS_PIPE_DIRECTORY": str(mps.pipe_dir(client.share.gpu_index))}
    del env["NVIDIA_VISIBLE_DEVICES"]
    args = [sys.executable, "-m", "corral.agent.workloads", client.workload,
            "--seconds", str(client.seconds), "--mib", str(client.alloc_mib)]
    return subprocess.Popen(args, env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish_client(proc: subprocess.Popen[str], client: Client) -> str:
    """The protocol value the client printed (throughput, or ok / refused)."""
    try:
        out, err = proc.communicate(timeout=client.seconds + CLIENT_GRACE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise CorralError(f"{client.workload}: did not finish") from None
    prefix = ALLOC_PREFIX if client.workload == "alloc" else THROUGHPUT_PREFIX
    for line in out.splitlines():
        if line.startswith(prefix):
            return line[len(prefix):].strip()
    raise CorralError(f"{client.workload}: exit {proc.returncode}, no '{prefix}' line; "
                      f"stderr: {err.strip()[-500:]}")


def run_together(mps: MpsDaemons, gpu_uuid: str, clients: Sequence[Client]) -> list[str]:
    """Run *clients* at once; their protocol values, in order."""
    procs = [start_client(mps, gpu_uuid, c) for c in clients]
    return [finish_client(p, c) for p, c in zip(procs, clients, strict=True)]


def run_alone(mps: MpsDaemons, gpu_uuid: str, client: Client,
              sample_util: UtilSampler | None) -> tuple[float, float | None]:
    """Run *client* alone: its throughput, and the GPU's mean utilisation over the last
    ``client.seconds`` of the run (the measured part, after start-up and warm-up)."""
    proc = start_client(mps, gpu_uuid, client)
    samples: list[tuple[float, float]] = []
    if sample_util is not None:
        while proc.poll() is None:
            value = sample_util()
            if value is not None:
                samples.append((time.monotonic(), value))
            time.sleep(SAMPLE_EVERY_S)
    throughput = float(finish_client(proc, client))
    end = time.monotonic()
    measured = [v for t, v in samples if t >= end - client.seconds]
    return throughput, statistics.fmean(measured) if measured else None


def profile_interference(mps: MpsDaemons, gpu_index: int, gpu_uuid: str, memory_mib: int,
                         workloads: Sequence[str], shares: Sequence[float],
                         seconds: float, sample_util: UtilSampler | None = None
                         ) -> list[PairSlowdown]:
    """Every workload alone and beside every workload (itself included), at each share;
    *sample_util* reads the GPU's utilisation while each runs alone."""
    unknown = [w for w in workloads if w not in WORKLOADS]
    if unknown:
        raise ConfigError(f"unknown workload(s) {unknown}; known: {sorted(WORKLOADS)}")
    if any(not 0 < s <= 0.5 for s in shares):
        raise ConfigError(f"shares {list(shares)}: each must be in (0, 0.5] so two fit a GPU")
    mps.ensure(gpu_index)
    rows = []
    for fraction in shares:
        share = GpuShare(gpu_index, round(fraction * 1000), int(memory_mib * fraction))
        alone = {w: run_alone(mps, gpu_uuid, Client(w, share, seconds), sample_util)
                 for w in workloads}
        for a, b in itertools.combinations_with_replacement(workloads, 2):
            got = run_together(mps, gpu_uuid, [Client(a, share, seconds),
                                               Client(b, share, seconds)])
            # Both clients' rows, also for a workload beside itself: two measurements.
            rows.append(pair_row(a, b, fraction, alone[a][0], float(got[0]),
                                alone[a][1], alone[b][1]))
            rows.append(pair_row(b, a, fraction, alone[b][0], float(got[1]),
                                alone[b][1], alone[a][1]))
    return rows


def write_table(rows: Sequence[PairSlowdown], out: Path, gpu_name: str, driver: str) -> None:
    """``interference.csv`` and ``sim-config.toml`` (see the module docstring) under *out*."""
    out.mkdir(parents=True, exist_ok=True)
    date = datetime.now(UTC).date().isoformat()
    meta = {"source": "measured", "gpu": gpu_name, "driver": driver, "date": date,
            "unit": "steps/s", "note": "measured by corral profile interference (MPS)"}
    (out / "interference.csv").write_text(
        format_interference_table(rows, meta), encoding="utf-8")
    mean = statistics.fmean(r.slowdown for r in rows)
    (out / "sim-config.toml").write_text(
        f"# Measured by `corral profile interference` on {gpu_name}, driver {driver}, {date}:\n"
        f"# mean slowdown of a workload beside another under MPS, {len(rows)} pairs "
        "(interference.csv).\n"
        f"share_slowdown = {max(0.0, mean - 1):.3f}\n")
