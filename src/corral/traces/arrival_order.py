"""Replicas of a trace for seeds other than 0: the same arrival instants, the jobs dealt anew.

A trace is one draw of its workload, so a result owes something to the order in which its jobs
happened to arrive; running several seeds shows how much. Seed 0 replays the trace as
recorded, so every result taken at the default seed stays as it was. Any other seed keeps the
trace's arrival instants (its bursts, its daily rhythm and its span, hence the offered load and
the size of an ``auto`` cluster) and its jobs (sizes, durations, users, queues), and permutes
which job arrives at which instant, drawn from the seed with NumPy's default generator.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from corral.model import ConfigError
from corral.traces.reader import Trace


def reorder_arrivals(trace: Trace, seed: int) -> Trace:
    """*trace* as recorded for seed 0; for any other seed, its jobs dealt to its arrival times
    in an order drawn from *seed* (the same seed always gives the same replica)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a whole number >= 0, got {seed!r}")
    if seed == 0:
        return trace
    order = np.random.default_rng(seed).permutation(len(trace.jobs))
    jobs = [dataclasses.replace(trace.jobs[index], submit=slot.submit)
            for slot, index in zip(trace.jobs, order.tolist(), strict=True)]
    return dataclasses.replace(trace, jobs=jobs)
