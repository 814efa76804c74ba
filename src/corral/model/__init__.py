"""Corral's vocabulary: nodes, jobs (gangs), queues and exact GPU quantities.

Imports nothing else of Corral's, so every layer can share it.
"""

from corral.model.errors import ConfigError, CorralError, InvalidSpec
from corral.model.job import DEFAULT_QUEUE, Job
from corral.model.node import Node
from corral.model.queue import Queue
from corral.model.queue_tree import CPU, GPU, GPU_OF_TYPE, MEMORY, QueueTree
from corral.model.resources import MILLI, gpus_to_milli

__all__ = [
    "CPU",
    "DEFAULT_QUEUE",
    "GPU",
    "GPU_OF_TYPE",
    "MEMORY",
    "MILLI",
    "ConfigError",
    "CorralError",
    "InvalidSpec",
    "Job",
    "Node",
    "Queue",
    "QueueTree",
    "gpus_to_milli",
]
