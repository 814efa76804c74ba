"""Replaying a trace busier or quieter than it was: arrivals sped up or slowed down.

Dividing every submit time by *factor* multiplies the arrival rate by it and keeps each job's
size and duration, the usual way trace studies (Tiresias, Gavel, Lucid) sweep load on a fixed
cluster.
"""

from __future__ import annotations

import dataclasses
import math

from corral.model import ConfigError
from corral.traces.reader import Trace

MIN_LOAD = 0.01
"""Arrivals a hundred times sparser: a year of trace becomes a century. Far sparser, submit
times grow so large that a float no longer resolves the seconds of the run times beside them."""
MAX_LOAD = 100.0
"""Arrivals a hundred times denser: a month of trace arrives in seven hours."""


def check_load(factor: object) -> float:
    """*factor* if it is a usable load (a number from :data:`MIN_LOAD` to :data:`MAX_LOAD`),
    else a :class:`ConfigError`."""
    if isinstance(factor, bool) or not isinstance(factor, int | float) \
            or not math.isfinite(factor) or not MIN_LOAD <= factor <= MAX_LOAD:
        raise ConfigError(f"load must be a number > 0, from {MIN_LOAD:g} to {MAX_LOAD:g}, "
                          f"got {factor!r}")
    return float(factor)


def scale_arrivals(trace: Trace, factor: float) -> Trace:
    """*trace* with arrivals *factor* times as frequent (2.0: twice the offered load)."""
    if check_load(factor) == 1:
        return trace
    jobs = [dataclasses.replace(job, submit=job.submit / factor) for job in trace.jobs]
    return dataclasses.replace(trace, jobs=jobs)
