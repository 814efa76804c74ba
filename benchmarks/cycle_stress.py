"""Scheduling-cycle stress: thousands of nodes, tens of thousands of pending jobs.

Usage: python benchmarks/cycle_stress.py

1. One full non-blocking cycle (policy ``greedy``: every pending job is considered, none stops
   the walk) over 10,000 pending jobs on 1,000 nodes x 8 GPUs, on a busy cluster (90% of GPUs
   held by running jobs, as when 10k jobs queue) and on an empty one.
2. The same over 100,000 pending jobs on 10,000 nodes.
3. A full replay of 100,000 synthetic jobs on 10,000 nodes, with the process's peak RSS.

Jobs are drawn with a fixed seed from a Philly-like mix: 1 GPU (most), 2, 4, 8, 16 and 32 GPUs,
and 10% fractional (0.25 / 0.5 GPU) tasks; 10% ask for one of two GPU types.
"""

from __future__ import annotations

import resource
import time

import numpy as np

from corral.core import Scheduler
from corral.model import Job, Node
from corral.policies import load_policy
from corral.sim.simulator import Simulator

SIZES = np.array([1, 2, 4, 8, 16, 32])
SIZE_P = np.array([0.80, 0.06, 0.06, 0.05, 0.02, 0.01])


def make_nodes(count: int) -> list[Node]:
    types = ["A100", "V100"]
    return [Node(f"n{i:05d}", 8, types[i % 2], 128_000, 1_048_576) for i in range(count)]


def make_jobs(count: int, seed: int, span_s: float = 0.0, prefix: str = "j") -> list[Job]:
    rng = np.random.default_rng(seed)
    sizes = rng.choice(SIZES, count, p=SIZE_P)
    fractional = rng.random(count) < 0.10
    shares = rng.choice([250, 500], count)
    typed = rng.random(count) < 0.10
    kinds = rng.choice(["A100", "V100"], count)
    submits = np.sort(rng.random(count) * span_s) if span_s else np.zeros(count)
    durations = np.round(rng.lognormal(7.0, 1.5, count)) + 1
    jobs = []
    for i in range(count):
        if fractional[i]:
            tasks, milli = 1, int(shares[i])
        else:
            tasks, milli = int(sizes[i]), 1000
        jobs.append(Job(f"{prefix}{i:06d}", float(submits[i]), tasks=tasks, gpu_milli=milli,
                        cpu_milli=4000, memory_mib=16_384,
                        gpu_types=(str(kinds[i]),) if typed[i] else (),
                        duration=float(durations[i])))
    return jobs


def one_cycle(nodes: int, pending: int, busy: float) -> None:
    sched = Scheduler(load_policy("greedy"))
    state = sched.new_state(make_nodes(nodes))
    filler = make_jobs(nodes * 8, seed=1, prefix="running-")
    used = 0
    for job in filler:  # fill the cluster to the wanted load with running jobs
        if used + job.total_gpu_milli > busy * nodes * 8000:
            continue
        state.submit(job)
        result = sched.cycle(state, 0.0)
        for decision in result.decisions:
            state.start(decision.job_id, decision.placement, 0.0)
            used += job.total_gpu_milli
        if job.id in state.pending:
            state.withdraw(job.id)
    for job in make_jobs(pending, seed=2):
        state.submit(job.without_duration())
    times = []
    for _ in range(3):
        sched = Scheduler(sched.profile)  # a cold failure cache: every job is looked at
        began = time.perf_counter()
        result = sched.cycle(state, 1.0)
        times.append(time.perf_counter() - began)
    looked = len(result.decisions) + len(result.waiting)
    print(f"cycle over {pending:>7,} pending on {nodes:>6,} nodes ({busy:>4.0%} busy): "
          f"{min(times) * 1e3:8.1f} ms (best of 3), {looked:,} jobs considered, "
          f"{len(result.decisions):,} started")


def replay(nodes: int, count: int) -> None:
    jobs = make_jobs(count, seed=3, span_s=30 * 86_400)
    sim = Simulator(Scheduler(load_policy("fifo")), make_nodes(nodes), jobs)
    began = time.perf_counter()
    sim.run()
    wall = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"replay of {count:,} jobs on {nodes:,} nodes: {wall:.2f} s, "
          f"{count / wall:,.0f} jobs/s; peak RSS so far {peak:,.0f} MiB")


def main() -> None:
    one_cycle(1_000, 10_000, busy=0.9)
    one_cycle(1_000, 10_000, busy=0.0)
    one_cycle(10_000, 100_000, busy=0.9)
    replay(10_000, 100_000)


if __name__ == "__main__":
    main()
