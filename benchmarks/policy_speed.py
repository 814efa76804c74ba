"""Replay speed of every built-in policy, per cluster and load, beside a bare strict-FIFO loop.

Usage: python benchmarks/policy_speed.py [TRACE] [--cluster SPEC ...] [--loads 0.5,1.2]
       [--policy NAME ...] [--limit N] [--timeout S]

For each (policy, cluster, load) it prints jobs/s by CPU time (``time.process_time`` around
the whole ``simulate`` call: robust on a shared machine) and by wall time (the replay loop,
``jobs_per_s`` of summary.json). The bare loop (:func:`bare_fifo`: no plugins, no metrics,
whole GPUs counted per node) replays the same jobs on the same nodes in the same process, so
the two are comparable on any machine. A run that exceeds ``--timeout`` seconds of CPU is
reported as such, not waited for (it runs in a child process).
"""

from __future__ import annotations

import argparse
import heapq
import multiprocessing
import time
from multiprocessing.connection import Connection
from pathlib import Path

from corral import simulate
from corral.clusters import build_cluster
from corral.model import Job, Node
from corral.policies import builtin_policy_names
from corral.traces import Trace, read_trace, scale_arrivals

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared/traces/philly-pollux/philly.csv.gz"
QUEUES = {"drf": "auto"}
"""Policies measured with queues (their order is about queues)."""


def bare_fifo(jobs: list[Job], nodes: list[Node]) -> int:
    """Strict FIFO on GPU counts: the head waits until it fits (best-fit node for a job that
    fits one node, else whole free nodes plus the best fit for the rest). Returns the jobs
    finished; what it costs is the floor any scheduler's loop pays per job."""
    size = max(n.gpus for n in nodes)
    free = [n.gpus for n in nodes]
    jobs = [job for job in jobs if max(1, round(job.gpus)) <= sum(free)]
    ends: list[tuple[float, int, list[tuple[int, int]]]] = []
    done, queue, i, n = 0, 0, 0, len(jobs)
    waiting: list[Job] = []
    while i < n or ends or queue < len(waiting):
        t = ends[0][0] if ends else float("inf")
        if i < n and jobs[i].submit <= t:
            t = jobs[i].submit
        while ends and ends[0][0] <= t:
            for node, gpus in heapq.heappop(ends)[2]:
                free[node] += gpus
            done += 1
        while i < n and jobs[i].submit <= t:
            waiting.append(jobs[i])
            i += 1
        while queue < len(waiting):
            job = waiting[queue]
            need = max(1, round(job.gpus))
            grants: list[tuple[int, int]] = []
            whole = [k for k, f in enumerate(free) if f == size][: need // size]
            if len(whole) == need // size:
                grants = [(k, size) for k in whole]
                rest = need % size
                if rest:
                    fits = [(f, k) for k, f in enumerate(free) if f >= rest and k not in whole]
                    grants = [*grants, (min(fits)[1], rest)] if fits else []
            if not grants:
                break
            for node, gpus in grants:
                free[node] -= gpus
            heapq.heappush(ends, (t + float(job.duration or 0.0), queue, grants))
            queue += 1
    return done


def measure(trace: Trace, policy: str, cluster: str, load: float) -> tuple[float, float, int]:
    """(CPU seconds, loop wall seconds, jobs) of one replay."""
    cpu = time.process_time()
    result = simulate(trace, policy=policy, cluster=cluster, load=load,
                      queues=QUEUES.get(policy))
    summary = result.summary
    return time.process_time() - cpu, summary["sim_wall_s"], summary["jobs"]


def _child(conn: Connection, trace: Trace, policy: str, cluster: str, load: float) -> None:
    conn.send(measure(trace, policy, cluster, load))


def timed(trace: Trace, policy: str, cluster: str, load: float,
          timeout: float) -> tuple[float, float, int] | None:
    """:func:`measure` in a child process (fork: the trace is not copied), or None when it
    took longer than *timeout* wall seconds."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, trace, policy, cluster, load))
    proc.start()
    ready = parent.poll(timeout)
    answer = parent.recv() if ready else None
    proc.kill()
    proc.join()
    return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace", nargs="?", default=str(DEFAULT))
    parser.add_argument("--cluster", action="append",
                        help="cluster specs (default: 96x8, auto:0.8, auto:0.9)")
    parser.add_argument("--loads", default="1.0",
                        help="comma-separated arrival-rate scales (e.g. 0.5,0.7,0.9,1.2)")
    parser.add_argument("--policy", action="append", help="policies (default: every built-in)")
    parser.add_argument("--limit", type=int, help="replay only the first N jobs")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="wall seconds one replay may take before it is reported as such")
    args = parser.parse_args()
    trace = read_trace(args.trace, limit=args.limit)
    loads = [float(x) for x in args.loads.split(",")]
    print(f"{len(trace.jobs):,} jobs; rates are jobs/s by CPU time (by loop wall time)")
    for cluster in args.cluster or ["96x8", "auto:0.8", "auto:0.9"]:
        for load in loads:
            scaled = scale_arrivals(trace, load)
            nodes = list(build_cluster(cluster, trace).nodes)
            cpu = time.process_time()
            wall = time.perf_counter()
            done = bare_fifo(scaled.jobs, nodes)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            print(f"\n{cluster}, load {load:g}: bare FIFO loop {done / cpu:,.0f} "
                  f"({done / wall:,.0f})")
            for policy in args.policy or builtin_policy_names():
                got = timed(trace, policy, cluster, load, args.timeout)
                if got is None:
                    print(f"  {policy:<20} over {args.timeout:g} s")
                    continue
                spent, loop, jobs = got
                print(f"  {policy:<20} {jobs / spent:>10,.0f} ({jobs / loop:,.0f})")


if __name__ == "__main__":
    main()
