"""A job's predicted run time, and how it is revised once the job outlives it.

Backends put estimates on the snapshot (the simulator from its online predictor, a live
backend from the job history); policies read them. A job that runs past its estimate is never
stopped for it: its estimate is revised from the time it has already run. Past the median it is
taken to need its 90th percentile; past that, twice what it has run so far. DL job lengths are
heavy-tailed, so the longer a job has run, the longer it is likely to go on (for a Pareto tail
with index 1 the median total is twice the age), the rule Tiresias' LAS relies on without
estimates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from corral.model import InvalidSpec


@dataclass(frozen=True, slots=True)
class DurationEstimate:
    """Predicted run time in seconds at reference speed: median and 90th percentile."""

    p50: float
    p90: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.p50) and math.isfinite(self.p90)) or self.p50 < 0 \
                or self.p90 < self.p50:
            raise InvalidSpec(f"a duration estimate needs finite 0 <= p50 <= p90, "
                              f"got p50={self.p50!r}, p90={self.p90!r}")

    def remaining_after(self, ran: float) -> float:
        """Expected seconds still to run after ``ran`` seconds (always > 0 once it ran)."""
        return remaining_after(self.p50, self.p90, ran)


def remaining_after(p50: float, p90: float, ran: float) -> float:
    """The revision rule on bare numbers: preemptive orders evaluate it for every running job
    in every cycle, so it builds no object."""
    if ran < p50:
        return p50 - ran
    if ran < p90:
        return p90 - ran
    return ran
