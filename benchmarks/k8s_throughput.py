"""Pods bound per second by `corral scheduler`, with gangs, on fake GPU nodes.

    python benchmarks/k8s_throughput.py                       # in-process API emulator
    KUBEBUILDER_ASSETS=DIR python benchmarks/k8s_throughput.py   # a throwaway control plane
    python benchmarks/k8s_throughput.py --kubeconfig ~/.kube/config   # an existing cluster

Creates --nodes Node objects of --gpus GPUs each (no kubelets behind them) and --pods pods
(a --gang-share of them in gangs of --gang-size, with PodGroups), all pending, then starts the
scheduler and times it until every pod is bound: from its launch, from the end of its initial
lists and from its first binding. Reports pods bound per second, cycle latency (p50/p99) and checks
that no node is over-committed and no gang is partly bound.

Where the API server comes from: --kubeconfig (an existing cluster); else, envtest's
convention, ``KUBEBUILDER_ASSETS`` naming a folder with etcd and kube-apiserver (a throwaway
control plane on loopback, started, given the CRDs and stopped here); else Corral's emulator,
run in a separate process (not a kube-apiserver: no etcd, no admission, no authentication),
and the output says which.

On a real API server the run is the shipped setup for running beside the stock kube-scheduler:
Corral's nodes carry the ``NoSchedule`` taint ``corral.dev/reserved`` and its pods select them
by label; --stock-pods one-GPU pods for the stock scheduler wait on --stock-nodes untainted
nodes. After Corral has bound its pods and stopped, the stock kube-scheduler is launched (from
KUBEBUILDER_ASSETS; on an existing cluster its own scheduler is already running and is timed
from the start) and timed the same way; with --together both start at once. Everything is
created in a fresh namespace and removed afterwards, nodes included, unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import platform
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from corral.core import Scheduler
from corral.k8s.client import ApiError, KubeClient, resource_path
from corral.k8s.loop import LiveScheduler, Options
from corral.k8s.testing.control_plane import (
    ASSETS_ENV,
    PODGROUP_CRD,
    ControlPlane,
    crd_documents,
    install_crds,
    missing_assets,
)
from corral.k8s.testing.fake_cluster import (
    FAKE_LABEL,
    RUN_LABEL,
    check,
    create_all,
    create_nodes,
    delete_run,
    fake_node,
    workload,
)
from corral.kube_contract import RESERVED_TAINT
from corral.policies import load_policy

REPO = Path(__file__).resolve().parents[1]
POOL_LABEL = "corral.dev/fake-pool"
STOCK = "default-scheduler"


def _cpu_seconds(pid: int) -> float | None:
    """User plus system CPU seconds a process has used (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_use(pids: dict[str, int]) -> dict[str, float | None]:
    return {name: _cpu_seconds(pid) for name, pid in pids.items()}


def _cpu_report(before: dict[str, float | None], after: dict[str, float | None],
                pods: int) -> str:
    """CPU milliseconds per bound pod, each process: a figure that holds on a busy machine,
    where pods/s do not."""
    parts = [f"{name} {(after[name] - start) * 1000 / pods:.2f}"  # type: ignore[operator]
             for name, start in before.items() if start is not None and after[name] is not None]
    return "CPU ms per pod: " + ", ".join(parts)


def _serve_emulator(port: int, ready: multiprocessing.synchronize.Event) -> None:
    from corral.k8s.testing.emulator import Emulator

    async def main() -> None:
        emulator = Emulator()
        await emulator.start(port=port)
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


@dataclass
class Timing:
    """When a scheduler was launched, first bound a pod and had bound them all (perf_counter
    seconds)."""

    name: str
    pods: int
    launch: float
    first: float | None = None
    last: float | None = None
    bound: int = 0

    def report(self) -> str:
        if self.first is None or self.last is None:
            return f"{self.name}: bound {self.bound} of {self.pods} pods, none at first"
        from_launch = self.last - self.launch
        binding = self.last - self.first
        rate = self.bound / binding if binding > 0 else float("inf")
        return (f"{self.name}: bound {self.bound} of {self.pods} pods; "
                f"first bind {self.first - self.launch:.2f}s after launch; "
                f"{rate:.0f} pods/s once binding started ({binding:.2f}s); "
                f"{self.bound / from_launch:.0f} pods/s from launch ({from_launch:.2f}s)")


async def _watch_stock(client: KubeClient, namespace: str, timing: Timing, version: str,
                       done: asyncio.Event) -> None:
    """Time the stock scheduler's bindings from a watch on its pods (only they are watched)."""
    seen: set[str] = set()
    while not done.is_set():
        try:
            async for event in client.watch(resource_path("", "v1", "pods", namespace), {
                    "fieldSelector": f"spec.schedulerName={STOCK}",
                    "resourceVersion": version, "allowWatchBookmarks": "true"}):
                obj = event["object"]
                version = obj["metadata"].get("resourceVersion", version)
                name = obj["metadata"].get("name", "")
                if event["type"] in ("ADDED", "MODIFIED") and obj["spec"].get("nodeName") \
                        and name not in seen:
                    seen.add(name)
                    now = time.perf_counter()
                    timing.first = timing.first or now
                    timing.last, timing.bound = now, len(seen)
                    if timing.bound >= timing.pods:
                        done.set()
                        return
        except ApiError:
            await asyncio.sleep(0.5)


async def _time_corral(scheduler: LiveScheduler, namespace: str, timing: Timing,
                       timeout: float) -> float:
    """Poll the scheduler's cache until it has seen every one of its pods bound; the time its
    initial lists were done."""
    name = scheduler.options.scheduler_name
    await scheduler.ready.wait()
    ready = time.perf_counter()
    while time.perf_counter() - timing.launch < timeout:
        bound = sum(1 for p in scheduler.cache.pods.values()
                    if p.node and p.namespace == namespace and p.scheduler == name)
        if bound and timing.first is None:
            timing.first = time.perf_counter()
        if bound > timing.bound:
            timing.bound, timing.last = bound, time.perf_counter()
        if bound >= timing.pods:
            break
        await asyncio.sleep(0.05)
    return ready


async def run(args: argparse.Namespace) -> int:
    emulator = None
    plane: ControlPlane | None = None
    if args.kubeconfig:
        kubeconfig: str | None = args.kubeconfig
        where = f"API server from {args.kubeconfig}"
    elif not missing_assets():
        plane = await asyncio.to_thread(ControlPlane.start)
        await asyncio.to_thread(install_crds, plane, [
            *crd_documents([REPO / "deploy/scheduler/crds.yaml"]), PODGROUP_CRD])
        version = plane.get("/version")
        kubeconfig = str(plane.kubeconfig)
        where = (f"throwaway control plane from {ASSETS_ENV}: kube-apiserver "
                 f"{version.get('gitVersion')}, etcd, on loopback")
    else:
        kubeconfig = None
        ready = multiprocessing.Event()
        emulator = multiprocessing.Process(target=_serve_emulator, args=(args.port, ready),
                                           daemon=True)
        emulator.start()
        ready.wait(30)
        where = ("Corral's in-process API emulator (separate process; not a kube-apiserver; "
                 f"{missing_assets()})")

    async def _connect() -> KubeClient:
        if kubeconfig:
            return await KubeClient.connect(kubeconfig)
        return KubeClient.for_url(f"http://127.0.0.1:{args.port}")

    client = await _connect()
    real = emulator is None
    stock_pods = args.stock_pods if real else 0
    stock_nodes = (args.stock_nodes if args.stock_nodes is not None else args.nodes) \
        if stock_pods else 0
    print(f"API server: {where}")
    if stock_pods:
        print(f"setup: beside the stock kube-scheduler, as shipped: Corral's {args.nodes} nodes "
              f"carry the NoSchedule taint {RESERVED_TAINT} (its pods select them by label), "
              f"the stock scheduler's {stock_pods} pods wait on {stock_nodes} untainted nodes; "
              f"{'both launched at once' if args.together else 'the stock one launched after'}")
    else:
        print(f"setup: Corral alone; its {args.nodes} nodes "
              + ("carry the NoSchedule taint " + RESERVED_TAINT if real else "are untainted"))
    ns = args.namespace or (f"corral-bench-{uuid.uuid4().hex[:6]}" if real else "corral-bench")
    selector = {POOL_LABEL: "corral"} if stock_pods else None
    try:
        if real:
            await create_all(client, [{"apiVersion": "v1", "kind": "Namespace",
                                       "metadata": {"name": ns}}])
        t0 = time.perf_counter()
        await create_nodes(client, [
            *(fake_node(f"{ns}-{i:05d}", args.gpus, reserved=real, run=ns,
                        labels={POOL_LABEL: "corral"}) for i in range(args.nodes)),
            *(fake_node(f"{ns}-stock-{i:05d}", args.gpus, run=ns,
                        labels={POOL_LABEL: "stock"}) for i in range(stock_nodes))])
        work = workload(ns, args.pods, gang_share=args.gang_share, gang_size=args.gang_size,
                        two_gpu_every=args.two_gpu_every, node_selector=selector)
        stock = workload(ns, stock_pods, gang_share=0.0, two_gpu_every=0, scheduler=STOCK,
                         prefix="stock-")
        stock_timing = Timing("kube-scheduler", len(stock.pods), time.perf_counter())
        stock_done = asyncio.Event()
        if stock_pods:
            # An existing cluster's scheduler binds as the pods come: it is timed from here.
            listed = await client.request("GET", resource_path("", "v1", "pods", ns),
                                          query={"limit": "1"})
            watcher = asyncio.create_task(_watch_stock(
                client, ns, stock_timing, listed["metadata"]["resourceVersion"], stock_done))
        await create_all(client, work.groups)
        await create_all(client, [*work.pods, *stock.pods])
        one_gpu = sum(1 for p in work.pods if p["spec"]["containers"][0]["resources"]["limits"]
                      ["nvidia.com/gpu"] == "1")
        print(f"created {args.nodes + stock_nodes} nodes x {args.gpus} GPUs, "
              f"{len(work.pods)} pods for Corral ({one_gpu} of 1 GPU; {len(work.groups)} gangs "
              f"of {args.gang_size}) and {len(stock.pods)} of 1 GPU for the stock scheduler in "
              f"{time.perf_counter() - t0:.1f}s")

        def launch_stock() -> None:
            if plane is not None:
                stock_timing.launch = time.perf_counter()
                plane.start_scheduler()

        if stock_pods and args.together:
            launch_stock()
        options = Options(leader_elect=False, batch_window_s=args.batch_window, tick_s=1.0,
                          concurrency=args.concurrency)
        pids = {"corral": os.getpid()}
        if plane is not None:
            pids |= {name: process.pid for name, process in plane.processes.items()}
        elif emulator is not None and emulator.pid is not None:
            pids["emulator"] = emulator.pid
        cpu_before = _cpu_use(pids)
        corral = Timing("corral", len(work.pods), time.perf_counter())
        own = await _connect()  # the scheduler's own, as in its own process
        scheduler = LiveScheduler(own, Scheduler(load_policy(args.policy)), options)
        task = asyncio.create_task(scheduler.run())
        ready = await _time_corral(scheduler, ns, corral, args.timeout)
        cpu_after = _cpu_use(pids)
        await scheduler.settle()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await own.close()
        if stock_pods:
            if not args.together:
                launch_stock()
            with_timeout = stock_timing.launch + args.timeout - time.perf_counter()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stock_done.wait(), max(with_timeout, 1.0))
            stock_done.set()
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
            if plane is not None:
                plane.stop_scheduler()

        pods = (await client.request("GET", resource_path("", "v1", "pods", ns)))["items"]
        nodes = (await client.request("GET", resource_path("", "v1", "nodes")))["items"]
        if real:
            nodes = [n for n in nodes if (n["metadata"].get("labels") or {}).get(RUN_LABEL) == ns]
        verdict = check(nodes, pods, {f"{ns}/{g['metadata']['name']}": args.gang_size
                                      for g in work.groups})
        cycles = np.array(scheduler.cycle_seconds) * 1000
        print(corral.report())
        if corral.last is not None:
            print(f"corral: initial lists done {ready - corral.launch:.2f}s after launch; "
                  f"{corral.bound / (corral.last - ready):.0f} pods/s from then")
        if corral.bound:
            print(f"corral: {_cpu_report(cpu_before, cpu_after, corral.bound)} "
                  "(launch to last binding)")
        if stock_pods:
            print(stock_timing.report())
        print(f"cycles: {len(cycles)}, latency p50 {np.percentile(cycles, 50):.1f} ms, "
              f"p99 {np.percentile(cycles, 99):.1f} ms, max {cycles.max():.1f} ms")
        misplaced = _misplaced(nodes, pods) if stock_pods else 0
        print(f"over-committed nodes: {len(verdict.overcommitted)}; partly bound gangs: "
              f"{len(verdict.partial_gangs)}; pods on the other scheduler's nodes: {misplaced}")
        print("launch: Corral's LiveScheduler created in this process (Python and its imports "
              "already loaded)" + ("; kube-scheduler's process started" if plane and stock_pods
                                   else ""))
        print(f"machine: {platform.machine()}, {multiprocessing.cpu_count()} CPUs, "
              f"Python {platform.python_version()}, policy {args.policy}")
        total = len(work.pods) + len(stock.pods)
        return 0 if verdict.ok and verdict.bound == total and not misplaced else 1
    finally:
        try:
            if real and not args.keep:
                await delete_run(client, ns, finalize_after_s=0.0 if plane else 30.0)
        finally:
            await client.close()
            if plane is not None:
                await asyncio.to_thread(plane.stop)
            if emulator is not None:
                emulator.terminate()


def _misplaced(nodes: list[dict[str, Any]], pods: list[dict[str, Any]]) -> int:
    """Bound pods on a node of the other scheduler's pool."""
    pool = {n["metadata"]["name"]: (n["metadata"].get("labels") or {}).get(POOL_LABEL)
            for n in nodes if (n["metadata"].get("labels") or {}).get(FAKE_LABEL)}
    return sum(1 for p in pods if p["spec"].get("nodeName") in pool
               and (pool[p["spec"]["nodeName"]] == "stock")
               != (p["spec"].get("schedulerName") == STOCK))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kubeconfig", help="an existing cluster (default: a throwaway "
                        f"control plane from ${ASSETS_ENV}, else the emulator)")
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--gpus", type=int, default=8)
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--gang-share", type=float, default=0.2)
    parser.add_argument("--gang-size", type=int, default=8)
    parser.add_argument("--two-gpu-every", type=int, default=4,
                        help="every n-th lone pod asks for 2 GPUs (0: every pod asks for 1)")
    parser.add_argument("--stock-pods", type=int, default=5000,
                        help="one-GPU pods for the stock kube-scheduler (real API server only)")
    parser.add_argument("--stock-nodes", type=int, default=None,
                        help="untainted nodes for them (default: as many as --nodes)")
    parser.add_argument("--together", action="store_true",
                        help="launch the stock scheduler with Corral, not after it")
    parser.add_argument("--policy", default="corral")
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--batch-window", type=float, default=0.05)
    parser.add_argument("--namespace", default="",
                        help="default: a fresh corral-bench-<random> (emulator: corral-bench)")
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--keep", action="store_true", help="leave what was created")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
