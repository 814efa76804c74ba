"""How a data-parallel job's throughput grows with its worker count (elastic jobs' speed-up).

Synchronous data-parallel training rarely scales linearly: each doubling of workers multiplies
throughput by ``2 x efficiency`` (Optimus §3 and Pollux §3 fit such curves to measured
throughput; 0.9 per doubling is within what both report for ResNet- and BERT-class models on
a few nodes). The model is ``speedup(k) = k ** log2(2 x efficiency)``, so one worker is 1 and
an efficiency of 1 is linear. Where measured speed-ups per worker count exist (trial runs),
they replace the curve at those counts, and counts between two measured ones are interpolated.

A trace's duration was measured at the job's requested gang size, so a job running with *k*
workers moves at ``speedup(k) / speedup(requested)`` of its trace speed. The backend publishes
one model in the cluster state, so policies see the very speed-ups jobs run at.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from corral.model import InvalidSpec

DEFAULT_EFFICIENCY = 0.9
"""Throughput gained per doubling of workers, as a share of doubling it."""


@dataclass(frozen=True)
class WorkerScaling:
    """Speed-up by worker count: a per-doubling *efficiency* curve, or *measured* points."""

    efficiency: float = DEFAULT_EFFICIENCY
    measured: Mapping[int, float] = field(default_factory=lambda: MappingProxyType({}))
    _points: tuple[tuple[int, ...], tuple[float, ...]] = field(init=False, repr=False,
                                                               compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.efficiency, bool) or not isinstance(self.efficiency, int | float) \
                or not 0.5 < self.efficiency <= 1.0:
            raise InvalidSpec(f"scaling efficiency must be a number in (0.5, 1], "
                              f"got {self.efficiency!r}")
        for workers, speedup in self.measured.items():
            if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
                raise InvalidSpec(f"measured speed-up: worker count must be an integer >= 1, "
                                  f"got {workers!r}")
            if isinstance(speedup, bool) or not isinstance(speedup, int | float) \
                    or not math.isfinite(speedup) or not 0 < speedup <= workers:
                raise InvalidSpec(f"measured speed-up at {workers} workers must be a number in "
                                  f"(0, {workers}], got {speedup!r}")
        counts = tuple(sorted(self.measured))
        object.__setattr__(self, "_points",
                           (counts, tuple(float(self.measured[c]) for c in counts)))

    def speedup(self, workers: int) -> float:
        """Throughput of *workers* workers relative to one."""
        counts, values = self._points
        if counts and counts[0] <= workers <= counts[-1]:
            at = bisect.bisect_left(counts, workers)
            if counts[at] == workers:
                return values[at]
            low, high = counts[at - 1], counts[at]
            share = (workers - low) / (high - low)
            return values[at - 1] + share * (values[at] - values[at - 1])
        return float(workers) ** math.log2(2.0 * self.efficiency)

    def relative(self, requested: int, workers: int) -> float:
        """Speed of a job run with *workers* workers relative to its *requested* gang size."""
        if workers == requested:
            return 1.0
        return self.speedup(workers) / self.speedup(requested)
