"""Public GPU-cluster job traces, read into sorted :class:`~corral.model.Job` lists.

Formats are told apart by their header line: ``philly-pollux`` (Microsoft Philly, Pollux
artifact), ``itp`` (Microsoft ITP / ElasticFlow), ``helios`` (DIR-LAB's Helios and Philly
excerpts) and ``openb`` (Alibaba GPU trace v2023). Only philly-pollux and openb publish the
cluster they ran on; :attr:`Trace.cluster` names that preset of :mod:`corral.clusters`.
"""

from corral.traces.arrival_order import reorder_arrivals
from corral.traces.errors import TraceError
from corral.traces.load_scaling import check_load, scale_arrivals
from corral.traces.reader import Trace, list_formats, read_trace
from corral.traces.trace_format import TraceFormat

__all__ = [
    "Trace",
    "TraceError",
    "TraceFormat",
    "check_load",
    "list_formats",
    "read_trace",
    "reorder_arrivals",
    "scale_arrivals",
]
