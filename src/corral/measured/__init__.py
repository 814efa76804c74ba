"""Measured tables shared by the node agent, the simulator and the score plugins.

The agent measures (``corral profile interference``, ``corral trial``), the simulator and the
live score plugins read: one format each, parsed here, in a module that imports nothing of
Corral's but the model, so that the scheduling core's plugins may read the tables too.
"""

from corral.measured.interference_table import (
    InterferenceTable,
    PairSlowdown,
    RuleCheck,
    check_rule,
    default_interference_table,
    format_interference_table,
    parse_interference_table,
    read_interference_table,
)
from corral.measured.job_classes import JobClasses
from corral.measured.throughput_table import (
    ThroughputRow,
    ThroughputTable,
    format_throughput_table,
    parse_throughput_table,
    read_throughput_table,
)

__all__ = [
    "InterferenceTable",
    "JobClasses",
    "PairSlowdown",
    "RuleCheck",
    "ThroughputRow",
    "ThroughputTable",
    "check_rule",
    "default_interference_table",
    "format_interference_table",
    "format_throughput_table",
    "parse_interference_table",
    "parse_throughput_table",
    "read_interference_table",
    "read_throughput_table",
]
