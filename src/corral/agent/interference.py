"""Measured interference: reference workloads alone and in pairs under MPS, on one GPU.

Each workload runs alone at a compute share, then beside each other workload (both at that
share); a pair's slowdown for a workload is its alone throughput over its paired throughput,
so the share's own cap is not counted as interference. The table is written as
``interference.csv`` and summarised in ``sim-config.toml``: ``share_slowdown`` (the mean slowdown
minus one, per co-tenant) is the parameter the simulator's sharing model reads today, with the
GPU model, driver and date in its header.
"""

from __future__ import annotations

import csv
import itertools
import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from corral.agent.mps import MpsDaemons, client_env
from corral.agent.shares import GpuShare
from corral.agent.workloads import ALLOC_PREFIX, THROUGHPUT_PREFIX, WORKLOADS
from corral.model import ConfigError, CorralError

CLIENT_GRACE_S = 120.0
"""Start-up (CUDA context, warm-up) allowed to a client beyond its measured seconds."""


@dataclass(frozen=True)
class Client:
    """One workload process under MPS: what it runs and the share it is limited to."""

    workload: str
    share: GpuShare
    seconds: float = 10.0
    alloc_mib: int = 0
    """With workload ``alloc``: the MiB it tries to allocate."""


@dataclass(frozen=True)
class PairRow:
    workload: str
    partner: str
    share: float
    alone: float
    paired: float

    @property
    def slowdown(self) -> float:
        return self.alone / self.paired if self.paired > 0 else float("inf")


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


def profile_interference(mps: MpsDaemons, gpu_index: int, gpu_uuid: str, memory_mib: int,
                         workloads: Sequence[str], shares: Sequence[float],
                         seconds: float) -> list[PairRow]:
    """Every workload alone and beside every workload (itself included), at each share."""
    unknown = [w for w in workloads if w not in WORKLOADS]
    if unknown:
        raise ConfigError(f"unknown workload(s) {unknown}; known: {sorted(WORKLOADS)}")
    if any(not 0 < s <= 0.5 for s in shares):
        raise ConfigError(f"shares {list(shares)}: each must be in (0, 0.5] so two fit a GPU")
    mps.ensure(gpu_index)
    rows = []
    for fraction in shares:
        share = GpuShare(gpu_index, round(fraction * 1000), int(memory_mib * fraction))
        alone = {w: float(run_together(mps, gpu_uuid, [Client(w, share, seconds)])[0])
                 for w in workloads}
        for a, b in itertools.combinations_with_replacement(workloads, 2):
            got = run_together(mps, gpu_uuid, [Client(a, share, seconds),
                                               Client(b, share, seconds)])
            rows.append(PairRow(a, b, fraction, alone[a], float(got[0])))
            if a != b:
                rows.append(PairRow(b, a, fraction, alone[b], float(got[1])))
    return rows


def write_table(rows: Sequence[PairRow], out: Path, gpu_name: str, driver: str) -> None:
    """``interference.csv`` and ``sim-config.toml`` (see the module docstring) under *out*."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "interference.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["workload", "partner", "share", "alone_steps_s", "paired_steps_s",
                         "slowdown"])
        for row in rows:
            data = asdict(row)
            writer.writerow([*data.values(), f"{row.slowdown:.3f}"])
    mean = statistics.fmean(r.slowdown for r in rows)
    date = datetime.now(UTC).date().isoformat()
    (out / "sim-config.toml").write_text(
        f"# Measured by `corral profile interference` on {gpu_name}, driver {driver}, {date}:\n"
        f"# mean slowdown of a workload beside another under MPS, {len(rows)} pairs "
        "(interference.csv).\n"
        f"share_slowdown = {max(0.0, mean - 1):.3f}\n")
