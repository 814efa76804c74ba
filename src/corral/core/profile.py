"""A policy made concrete: the plugin instances for each extension point, plus cycle options.

Built from data (``policies/*.toml``) by :mod:`corral.policies`; the core only runs it.
"""

from __future__ import annotations

from dataclasses import dataclass

from corral.core.framework import Admit, Filter, Permit, PostFilter, QueueSort, Resizer, Score


@dataclass(frozen=True)
class Profile:
    """Plugins per extension point (scores with weights) and how the cycle walks the queue.

    *blocking*: stop at the first job that does not fit (strict order, as FIFO schedulers in
    the Helios and Tiresias simulators do); otherwise later jobs may start past it.
    *tick_seconds*: ask the backend for a cycle at least this often (None: only on events).
    *oracle*: the policy may read true job durations (reference policies only).
    """

    name: str
    queue_sort: QueueSort
    filters: tuple[Filter, ...]
    scores: tuple[tuple[Score, float], ...] = ()
    admits: tuple[Admit, ...] = ()
    permits: tuple[Permit, ...] = ()
    post_filters: tuple[PostFilter, ...] = ()
    resizers: tuple[Resizer, ...] = ()
    blocking: bool = True
    tick_seconds: float | None = None
    oracle: bool = False
    description: str = ""

    @property
    def reads_estimates(self) -> bool:
        """True if a plugin reads predicted run times (``reads_estimates`` true on it): only
        then does a backend predict, which costs a model and a prediction per job."""
        return any(getattr(p, "reads_estimates", False) for p in self._plugins())

    @property
    def reads_queue_usage(self) -> bool:
        """True if a plugin reads what each queue holds (``reads_queue_usage = True`` on its
        class): only then does the state keep that account, which costs every start and end."""
        return any(getattr(p, "reads_queue_usage", False) for p in self._plugins())

    def _plugins(self) -> tuple[object, ...]:
        return (self.queue_sort, *self.filters, *(p for p, _ in self.scores), *self.admits,
                *self.permits, *self.post_filters, *self.resizers)
