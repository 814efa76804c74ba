"""What a trace format is, as callers see it (for ``--help`` texts and ``corral traces``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TraceFormat:
    """A trace format recognised by its header line.

    ``cluster`` names the cluster preset published with traces of this format (see
    :mod:`corral.clusters`), or is None when the source published no cluster;
    ``cluster_note`` says which, in words.
    """

    name: str
    description: str
    columns: tuple[str, ...]
    cluster: str | None
    cluster_note: str
    optional_columns: tuple[str, ...] = ()
    """Columns a file of this format may add (the header is recognised with or without)."""
