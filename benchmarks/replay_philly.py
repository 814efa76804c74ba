"""Replay speed on the full Philly trace (82,247 jobs) with ``fifo``.

Usage: python benchmarks/replay_philly.py [PATH_TO_philly.csv.gz] [--cluster SPEC ...]

Prints, per cluster, the simulated jobs per second of the replay loop (trace reading excluded,
and reported separately), the average JCT and queueing delay, and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from corral import simulate
from corral.traces import read_trace

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared/traces/philly-pollux/philly.csv.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace", nargs="?", default=str(DEFAULT))
    parser.add_argument("--cluster", action="append",
                        help="cluster specs (default: philly, auto:0.9, 96x8)")
    parser.add_argument("--policy", default="fifo")
    parser.add_argument("--repeat", type=int, default=3, help="runs per cluster; best is shown")
    args = parser.parse_args()
    began = time.perf_counter()
    trace = read_trace(args.trace)
    print(f"read {len(trace.jobs):,} jobs in {time.perf_counter() - began:.2f} s")
    for spec in args.cluster or ["philly", "auto:0.9", "96x8"]:
        runs = [simulate(trace, policy=args.policy, cluster=spec) for _ in range(args.repeat)]
        best = max(runs, key=lambda r: r.summary["jobs_per_s"])
        s = best.summary
        rates = ", ".join(f"{r.summary['jobs_per_s']:,.0f}" for r in runs)
        print(f"{args.policy:>6} on {s['cluster']:<18} {s['gpus']:>5} GPUs: "
              f"{s['jobs_per_s']:>8,.0f} jobs/s (runs: {rates}), loop {s['sim_wall_s']:.2f} s, "
              f"avg JCT {s['avg_jct']:,.0f} s, avg queueing {s['avg_queue_delay']:,.0f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
