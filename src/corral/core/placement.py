"""Where a gang runs: which GPUs of which nodes, and how much of each.

Named tuples rather than frozen dataclasses: one is made per started job on the hot path, and
a tuple is built several times faster while being just as immutable.
"""

from __future__ import annotations

from typing import NamedTuple


class NodeGrant(NamedTuple):
    """The part of a gang on one node.

    *gpus* lists GPU indices on the node, one entry per grant of *milli* milli-GPUs: a
    whole-GPU task of k GPUs contributes k distinct indices with ``milli == 1000``; a fractional
    task contributes one index with its share (two fractional tasks may name the same GPU).
    """

    node: int
    tasks: int
    gpus: tuple[int, ...]
    milli: int


class Placement(NamedTuple):
    """A whole gang's placement: one grant per node used."""

    grants: tuple[NodeGrant, ...]

    @property
    def nodes(self) -> tuple[int, ...]:
        """Indices of the nodes used, in placement order."""
        return tuple(g.node for g in self.grants)

    @property
    def tasks(self) -> int:
        """Tasks placed in all."""
        return sum(g.tasks for g in self.grants)
