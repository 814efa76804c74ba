"""The cost of learning durations online: ``predicted-sjf`` against its oracle twin.

Usage: python benchmarks/prediction_overhead.py TRACE [--cluster SPEC] [--limit N] [--repeat K]

The twin is the same policy with ``estimate = "oracle"`` (true durations, no predictor, no
training), so the difference between the two runs is the online predictor: features at every
arrival, a prediction per job and the periodic retraining on the jobs that have finished.
Prints, for each, the replay loop's wall time (``sim_wall_s``, trace reading excluded), jobs
per second and average JCT / queueing, then the ratio of the two wall times.
"""

from __future__ import annotations

import argparse
import tempfile
from importlib.resources import files
from pathlib import Path

from corral import simulate
from corral.traces import read_trace

POLICY = "predicted-sjf"


def oracle_twin(folder: Path) -> Path:
    """``predicted-sjf`` reading true durations: the same plugins, declared an oracle."""
    text = (files("corral.policies") / f"{POLICY}.toml").read_text()
    text = text.replace(f'name = "{POLICY}"', f'name = "{POLICY}-oracle-twin"', 1)
    text = text.replace("oracle = false", "oracle = true", 1)
    text = text.replace('estimate = "predicted"', 'estimate = "oracle"', 1)
    path = folder / "twin.toml"
    path.write_text(text)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace")
    parser.add_argument("--cluster", default=None, help="cluster spec (default: the trace's)")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; best is shown")
    args = parser.parse_args()
    trace = read_trace(args.trace, limit=args.limit)
    print(f"{len(trace.jobs):,} jobs from {args.trace}")
    with tempfile.TemporaryDirectory() as folder:
        walls = {}
        for policy in (POLICY, oracle_twin(Path(folder))):
            runs = [simulate(trace, policy=policy, cluster=args.cluster)
                    for _ in range(args.repeat)]
            s = min(runs, key=lambda r: r.summary["sim_wall_s"]).summary
            walls[s["policy"]] = s["sim_wall_s"]
            print(f"{s['policy']:>26} on {s['cluster']}: loop {s['sim_wall_s']:.2f} s "
                  f"({s['jobs_per_s']:,.0f} jobs/s), avg JCT {s['avg_jct']:,.0f} s, "
                  f"avg queueing {s['avg_queue_delay']:,.0f} s, "
                  f"preemptions {s.get('preemptions', 0):,}")
    predicted, oracle = walls.values()
    print(f"online prediction costs {predicted / oracle:.2f}x the oracle twin's wall time")


if __name__ == "__main__":
    main()
