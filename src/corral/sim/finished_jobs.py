"""A compact record of finished jobs: the rows of ``jobs.csv`` as columns of machine numbers.

A long trace would otherwise keep every job's :class:`~corral.sim.job_run.JobRun` (and its
placement) until the end only to read its figures from it: about a kilobyte per job. Here a
finished job leaves 8-byte numbers and pointers to strings it shares with the trace or with
other jobs (node lists and GPU types are interned), and its run object is dropped.
Rows keep the arrival order, as :func:`corral.sim.metrics.job_table` gives them.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence

import numpy as np
import pandas as pd

from corral.model import MILLI, Node
from corral.sim.job_run import JobRun
from corral.sim.result import JOB_COLUMNS

_FLOATS = ("gpus_per_task", "submit", "start", "end", "queue_delay", "run_time", "overhead")
_INTS = ("tasks", "preemptions", "resizes", "migrations")
_STRINGS = ("job_id", "user", "queue", "gpu_type", "nodes")


class FinishedJobs:
    """Slots taken in arrival order, filled when each job finishes (see :meth:`frame`)."""

    def __init__(self, nodes: Sequence[Node]) -> None:
        self._names = [node.name for node in nodes]
        self._types = [node.gpu_type for node in nodes]
        self._floats = {name: array("d") for name in _FLOATS}
        self._ints = {name: array("q") for name in _INTS}
        self._strings: dict[str, list[str | None]] = {name: [] for name in _STRINGS}
        self._slot: dict[str, int] = {}
        """Slot of each job that arrived and has not finished yet."""
        self._interned: dict[str, str] = {}
        self.count = 0
        """Jobs finished so far."""

    def arrived(self, job_id: str) -> None:
        """Take the next row for *job_id*, left empty until it finishes."""
        self._slot[job_id] = len(self._strings["job_id"])
        for column in self._floats.values():
            column.append(np.nan)
        for ints in self._ints.values():
            ints.append(0)
        for strings in self._strings.values():
            strings.append(None)

    def finished(self, run: JobRun) -> None:
        """Fill *run*'s row from its final figures; the record keeps nothing of *run* itself."""
        job = run.job
        slot = self._slot.pop(job.id)
        grants = run.placement.grants if run.placement else ()
        intern = self._interned.setdefault
        nodes = ";".join(self._names[g.node] for g in grants)
        types = ";".join(sorted({self._types[g.node] for g in grants}))
        floats, ints, strings = self._floats, self._ints, self._strings
        for name, value in (("gpus_per_task", job.gpu_milli / MILLI), ("submit", job.submit),
                            ("start", run.first_start), ("end", run.end),
                            ("queue_delay", run.queue_delay), ("run_time", run.run_time),
                            ("overhead", run.overhead)):
            floats[name][slot] = value
        for name, count in (("tasks", job.tasks), ("preemptions", run.preemptions),
                            ("resizes", run.resizes), ("migrations", run.migrations)):
            ints[name][slot] = count
        for name, text in (("job_id", job.id), ("user", job.user), ("queue", job.queue),
                           ("gpu_type", intern(types, types)), ("nodes", intern(nodes, nodes))):
            strings[name][slot] = text
        self.count += 1

    def frame(self) -> pd.DataFrame:
        """The finished jobs with the columns of ``jobs.csv``, in arrival order: the same table
        :func:`corral.sim.metrics.job_table` builds from their runs."""
        if not self.count:
            return pd.DataFrame(columns=list(JOB_COLUMNS))
        done = np.array([text is not None for text in self._strings["job_id"]], dtype=bool)
        columns: dict[str, np.ndarray] = {}
        for name, floats in self._floats.items():
            columns[name] = np.frombuffer(floats, dtype=np.float64)[done]
        for name, ints in self._ints.items():
            columns[name] = np.frombuffer(ints, dtype=np.int64)[done]
        for name, strings in self._strings.items():
            columns[name] = np.array(strings, dtype=object)[done]
        columns["jct"] = columns["end"] - columns["submit"]
        return pd.DataFrame({name: columns[name] for name in JOB_COLUMNS})
