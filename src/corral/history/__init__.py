"""The job-history store: one row per job attempt, in SQLite by default or PostgreSQL by URL."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from corral.history.trace_import import attempts_from_trace

if TYPE_CHECKING:
    from corral.history.store import HistoryError, HistoryStore, StatsRow, masked_url

DEFAULT_URL = "sqlite:///corral-history.db"
"""An SQLite file in the current directory: embedded, zero set-up."""

__all__ = ["DEFAULT_URL", "HistoryError", "HistoryStore", "StatsRow", "attempts_from_trace",
           "masked_url"]


def __getattr__(name: str) -> Any:
    # PEP 562: the store's names (and SQLAlchemy) load on first use, not with this package, so
    # the command-line options whose default is DEFAULT_URL cost ``corral --version`` nothing.
    if name in __all__:
        return getattr(import_module("corral.history.store"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
