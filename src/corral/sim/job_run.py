"""The simulator's record of one job: its work, its speed, and where its time went."""

from __future__ import annotations

from corral.core.placement import Placement
from corral.model import Job


class JobRun:
    """Mutable per-job bookkeeping (slots: 100k of these must stay small and fast).

    ``work_left`` is in reference seconds (trace duration minus progress so far). While running,
    progress accrues at ``speed`` from ``progress_from`` (the last time it was booked, never
    before ``restore_until``, the end of any restore overhead).
    Time splits exactly into ``queue_delay`` (waiting, before and after preemptions),
    ``run_time`` (making progress) and ``overhead`` (checkpoint/restore after a preemption,
    a resize or a migration). ``resizes`` and ``migrations`` count the job's size changes and
    moves, ``resize_overhead`` the seconds of overhead they cost it.
    """

    __slots__ = ("base_speed", "end", "first_start", "job", "migrations", "overhead",
                 "pending_since", "placement", "preemptions", "progress_from", "queue_delay",
                 "resize_overhead", "resizes", "restore_until", "run_time", "segment_start",
                 "speed", "token", "work_left")

    def __init__(self, job: Job, duration: float) -> None:
        self.job = job
        self.work_left = duration
        self.pending_since = job.submit
        self.queue_delay = 0.0
        self.run_time = 0.0
        self.overhead = 0.0
        self.preemptions = 0
        self.resizes = 0
        self.migrations = 0
        self.resize_overhead = 0.0
        self.first_start = -1.0
        self.end = -1.0
        self.segment_start = 0.0
        self.progress_from = 0.0
        self.restore_until = 0.0
        self.base_speed = 1.0
        self.speed = 1.0
        self.token = 0
        self.placement: Placement | None = None
