"""The GPU sharing check on a real GPU (about 1-2 minutes; needs an NVIDIA GPU, the MPS control
program, nvidia-ml-py and PyTorch; run as root, as MPS needs).

Starts the agent's MPS management on one GPU, then:
1. a client limited to 2 GiB tries to allocate 3 GiB: refused (yes/no);
2. two GEMM clients at shares 0.25 and 0.75, each with a memory limit, run together: their
   throughput ratio against the share ratio (3.0);
3. while they run, NVML's per-process figures, attributed to each client by its pid.

With ``--record FILE``, the NVML readings taken while the two clients run are written in the
fake NVML's recording format (:mod:`corral.agent.fake_nvml`), so tests can replay a real GPU.

    python benchmarks/gpu_sharing_check.py [--gpu 0] [--seconds 20] [--record FILE]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

from corral.agent.fake_nvml import recording
from corral.agent.interference import Client, finish_client, run_together, start_client
from corral.agent.mps import MpsDaemons
from corral.agent.nvml import NodeReading, PynvmlBackend
from corral.agent.shares import GpuShare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpu", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--record", type=Path, help="write the NVML readings here (JSON)")
    args = parser.parse_args()
    nvml = PynvmlBackend()
    gpu = next(g for g in nvml.gpus() if g.index == args.gpu)
    print(f"device: {gpu.name} ({gpu.memory_total_mib} MiB), driver {nvml.driver_version()}")
    with tempfile.TemporaryDirectory(prefix="corral-mps-") as root:
        mps = MpsDaemons(Path(root), {gpu.index: gpu.uuid})
        mps.ensure(gpu.index)
        try:
            readings = check(mps, nvml, gpu.index, gpu.uuid, args.seconds)
        finally:
            mps.stop_all()
    if args.record:
        args.record.write_text(json.dumps(recording(nvml.driver_version(), [gpu], readings),
                                          indent=1), encoding="utf-8")
        print(f"wrote {len(readings)} NVML readings to {args.record}")


def check(mps: MpsDaemons, nvml: PynvmlBackend, index: int, uuid: str,
          seconds: float) -> list[NodeReading]:
    """Print the three checks; return the NVML readings taken while the two clients ran."""
    limited = GpuShare(index, 500, 2048)
    [over] = run_together(mps, uuid, [Client("alloc", limited, alloc_mib=3072)])
    [under] = run_together(mps, uuid, [Client("alloc", limited, alloc_mib=1024)])
    print(f"allocation of 3 GiB past a 2 GiB limit refused: {'yes' if over == 'refused' else 'no'}"
          f" (1 GiB within it: {under})")

    clients = [Client("gemm", GpuShare(index, 250, 8192), seconds),
               Client("gemm", GpuShare(index, 750, 16384), seconds)]
    procs = [start_client(mps, uuid, c) for c in clients]
    seen: dict[int, list[tuple[float, float | None]]] = {p.pid: [] for p in procs}
    readings: list[NodeReading] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(1.0):
            readings.append(nvml.read())
            for proc in readings[-1].processes:
                if proc.pid in seen and proc.gpu_index == index:
                    seen[proc.pid].append((proc.memory_used_mib, proc.sm_util_percent))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    rates = [float(finish_client(p, c)) for p, c in zip(procs, clients, strict=True)]
    stop.set()
    sampler.join()
    ratio = rates[1] / rates[0] if rates[0] else float("inf")
    print(f"GEMM at share 0.25: {rates[0]:.1f} steps/s; at 0.75: {rates[1]:.1f} steps/s; "
          f"throughput ratio {ratio:.2f} against share ratio 3.00 "
          f"({time.monotonic() - started:.0f} s)")
    for proc, client in zip(procs, clients, strict=True):
        samples = seen[proc.pid]
        if not samples:
            print(f"pid {proc.pid} (share {client.share.milli / 1000}): not in NVML's list")
            continue
        peak_mem = max(m for m, _ in samples)
        sm = [s for _, s in samples if s is not None]
        sm_text = f"mean SM {sum(sm) / len(sm):.0f}%" if sm else \
            "no SM sample (under MPS the server carries them)"
        print(f"pid {proc.pid} (share {client.share.milli / 1000}, limit "
              f"{client.share.memory_mib} MiB): NVML peak memory {peak_mem:.0f} MiB, {sm_text}, "
              f"over {len(samples)} samples")
    return readings


if __name__ == "__main__":
    main()
