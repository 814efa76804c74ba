"""Peak memory and replay speed of ``corral.simulate`` on N jobs: Philly repeated end to end.

Usage: python benchmarks/sim_memory.py N [--trace PATH] [--policy fifo] [--cluster 96x8]

Copies of the trace follow each other (each shifted by the trace's span plus an hour, with ids
made unique) until N jobs, then one replay runs. Prints the process's peak RSS (trace, replay
and the per-job table together), the bytes per job, and the replay's jobs/s and CPU time.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import time
from pathlib import Path

from corral import simulate
from corral.model import Job
from corral.traces import Trace, read_trace

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared/traces/philly-pollux/philly.csv.gz"


def repeated(trace: Trace, count: int) -> Trace:
    """*trace*'s jobs again and again, later copies shifted past the earlier, *count* in all."""
    span = trace.jobs[-1].submit + 3600.0
    jobs: list[Job] = []
    copy = 0
    while len(jobs) < count:
        jobs.extend(job if not copy else
                    dataclasses.replace(job, id=f"{job.id}-{copy}", submit=job.submit + copy * span)
                    for job in trace.jobs[:count - len(jobs)])
        copy += 1
    return dataclasses.replace(trace, name=f"{trace.name} x{len(jobs) / len(trace.jobs):.1f}",
                               jobs=jobs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("jobs", type=int)
    parser.add_argument("--trace", default=str(DEFAULT))
    parser.add_argument("--policy", default="fifo")
    parser.add_argument("--cluster", default="96x8")
    args = parser.parse_args()
    trace = repeated(read_trace(args.trace), args.jobs)
    cpu = time.process_time()
    result = simulate(trace, policy=args.policy, cluster=args.cluster)
    cpu = time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    s = result.summary
    print(f"{s['trace']}: {s['jobs']:,} jobs, {args.policy} on {s['cluster']}: "
          f"peak RSS {peak / 2**20:,.0f} MiB ({peak / len(trace.jobs):,.0f} B/job), "
          f"{s['jobs_per_s']:,.0f} jobs/s, CPU {cpu:,.1f} s (replay and tables)")


if __name__ == "__main__":
    main()
