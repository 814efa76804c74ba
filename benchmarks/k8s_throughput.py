"""Pods bound per second by `corral scheduler`, with gangs, on fake GPU nodes.

    python benchmarks/k8s_throughput.py                       # in-process API emulator
    python benchmarks/k8s_throughput.py --kubeconfig ~/.kube/config   # a real API server

Creates --nodes Node objects of --gpus GPUs each (no kubelets behind them) and --pods pods
(a --gang-share of them in gangs of --gang-size, with PodGroups), all pending, then starts the
scheduler and times it from its first cycle until every pod is bound. Reports pods bound per
second, cycle latency (p50/p99) and checks that no node is over-committed and no gang is
partly bound. Without --kubeconfig the API server is Corral's emulator, run in a separate
process (it is not a kube-apiserver: no etcd, no admission, no authentication), and the
output says so. On a real cluster everything is created in namespace --namespace and removed
afterwards, nodes included, unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import platform
import sys
import time

import numpy as np

from corral.core import Scheduler
from corral.k8s.client import KubeClient, resource_path
from corral.k8s.loop import LiveScheduler, Options
from corral.k8s.testing.fake_cluster import FAKE_LABEL, check, create_all, fake_node, workload
from corral.policies import load_policy


def _serve_emulator(port: int, ready: multiprocessing.synchronize.Event) -> None:
    from corral.k8s.testing.emulator import Emulator

    async def main() -> None:
        emulator = Emulator()
        await emulator.start(port=port)
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


async def run(args: argparse.Namespace) -> int:
    emulator = None
    if args.kubeconfig:
        client = await KubeClient.connect(args.kubeconfig)
        where = f"API server from {args.kubeconfig}"
    else:
        ready = multiprocessing.Event()
        emulator = multiprocessing.Process(target=_serve_emulator, args=(args.port, ready),
                                           daemon=True)
        emulator.start()
        ready.wait(30)
        client = KubeClient.for_url(f"http://127.0.0.1:{args.port}")
        where = "Corral's in-process API emulator (separate process; not a kube-apiserver)"
    print(f"API server: {where}")
    ns = args.namespace
    try:
        if args.kubeconfig:
            await create_all(client, [{"apiVersion": "v1", "kind": "Namespace",
                                       "metadata": {"name": ns}}])
        t0 = time.perf_counter()
        await create_all(client, [fake_node(f"fake-gpu-{i:05d}", args.gpus)
                                  for i in range(args.nodes)])
        work = workload(ns, args.pods, gang_share=args.gang_share, gang_size=args.gang_size)
        await create_all(client, work.groups)
        await create_all(client, work.pods)
        print(f"created {args.nodes} nodes x {args.gpus} GPUs, {len(work.pods)} pods "
              f"({len(work.groups)} gangs of {args.gang_size}) in "
              f"{time.perf_counter() - t0:.1f}s")
        options = Options(leader_elect=False, batch_window_s=args.batch_window, tick_s=1.0,
                          concurrency=args.concurrency)
        scheduler = LiveScheduler(client, Scheduler(load_policy(args.policy)), options)
        task = asyncio.create_task(scheduler.run())
        await scheduler.ready.wait()
        start = time.perf_counter()
        total = len(work.pods)
        bound = 0
        while time.perf_counter() - start < args.timeout:
            await asyncio.sleep(0.1)
            bound = sum(1 for p in scheduler.cache.pods.values()
                        if p.node and p.namespace == ns)
            if bound >= total:
                break
        elapsed = time.perf_counter() - start
        await scheduler.settle()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        pods = (await client.request("GET", resource_path("", "v1", "pods", ns)))["items"]
        nodes = (await client.request("GET", resource_path("", "v1", "nodes")))["items"]
        verdict = check(nodes, pods, {f"{ns}/{g['metadata']['name']}": args.gang_size
                                      for g in work.groups})
        cycles = np.array(scheduler.cycle_seconds) * 1000
        print(f"bound {verdict.bound} of {total} pods in {elapsed:.2f}s: "
              f"{verdict.bound / elapsed:.0f} pods/s")
        print(f"cycles: {len(cycles)}, latency p50 {np.percentile(cycles, 50):.1f} ms, "
              f"p99 {np.percentile(cycles, 99):.1f} ms, max {cycles.max():.1f} ms")
        print(f"over-committed nodes: {len(verdict.overcommitted)}; partly bound gangs: "
              f"{len(verdict.partial_gangs)}; binding conflicts: none expected")
        print(f"machine: {platform.machine()}, {multiprocessing.cpu_count()} CPUs, "
              f"Python {platform.python_version()}, policy {args.policy}")
        return 0 if verdict.ok and verdict.bound == total else 1
    finally:
        if args.kubeconfig and not args.keep:
            await client.request("DELETE", resource_path("", "v1", "namespaces", ns))
            await client.request("DELETE", resource_path("", "v1", "nodes"),
                                 query={"labelSelector": f"{FAKE_LABEL}=true"})
        await client.close()
        if emulator is not None:
            emulator.terminate()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kubeconfig", help="a real API server (default: the emulator)")
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--gpus", type=int, default=8)
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--gang-share", type=float, default=0.2)
    parser.add_argument("--gang-size", type=int, default=8)
    parser.add_argument("--policy", default="corral")
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--batch-window", type=float, default=0.05)
    parser.add_argument("--namespace", default="corral-bench")
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--keep", action="store_true", help="leave what was created")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
