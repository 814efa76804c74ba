"""The job-history store: one row per job attempt, in SQLite by default or PostgreSQL by URL."""

from corral.history.store import DEFAULT_URL, HistoryError, HistoryStore, StatsRow, masked_url
from corral.history.trace_import import attempts_from_trace

__all__ = ["DEFAULT_URL", "HistoryError", "HistoryStore", "StatsRow", "attempts_from_trace",
           "masked_url"]
