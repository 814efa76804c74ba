"""The history tables, as SQLAlchemy Core metadata (the migrations create them)."""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table

OUTCOMES = ("completed", "failed", "killed", "preempted")

metadata = MetaData()

attempts = Table(
    "job_attempts",
    metadata,
    # (source, job_id, attempt) is the key, so re-importing a trace inserts nothing new.
    Column("source", String(255), primary_key=True),
    Column("job_id", String(255), primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("user", String(255), nullable=False),
    Column("name", String(255), nullable=False),
    Column("queue", String(255), nullable=False),
    Column("tasks", Integer, nullable=False),
    Column("gpu_milli", Integer, nullable=False),
    Column("gpu_type", String(64), nullable=False),
    Column("submit", Float, nullable=False),
    Column("start", Float, nullable=False),
    Column("end", Float, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("gpu_util", Float, nullable=True),
    Column("gpu_mem_peak_mib", Float, nullable=True),
    # Measured by the node agent (migration 0002); gpu_util is then the average of these.
    Column("gpu_util_peak", Float, nullable=True),
    Column("gpu_share_achieved", Float, nullable=True),
    Column("profiled_pods", Integer, nullable=True),
)
"""Times are seconds: epoch seconds for live jobs, seconds from the trace's start for traces."""

Index("ix_job_attempts_end", attempts.c.end)
