"""The history tables, as SQLAlchemy Core metadata (the migrations create them)."""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table

OUTCOMES = ("completed", "failed", "killed", "preempted")

KEY_CHARS = 1024
"""The longest job id, source, user, name or queue kept; longer rows are rejected one by one."""

metadata = MetaData()

attempts = Table(
    "job_attempts",
    metadata,
    # (source, job_id, attempt) is the key, so re-importing a trace inserts nothing new.
    # Keys and names hold up to KEY_CHARS (migration 0004): a namespace/pod key is up to 317.
    Column("source", String(KEY_CHARS), primary_key=True),
    Column("job_id", String(KEY_CHARS), primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("user", String(KEY_CHARS), nullable=False),
    Column("name", String(KEY_CHARS), nullable=False),
    Column("queue", String(KEY_CHARS), nullable=False),
    Column("tasks", Integer, nullable=False),
    Column("gpu_milli", Integer, nullable=False),
    Column("gpu_type", String(255), nullable=False),
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
Index("ix_job_attempts_queue_end", attempts.c.queue, attempts.c.end)
Index("ix_job_attempts_user_end", attempts.c.user, attempts.c.end)
Index("ix_job_attempts_outcome_end", attempts.c.outcome, attempts.c.end)

usage_daily = Table(
    "usage_daily",
    metadata,
    Column("day", Integer, primary_key=True),  # floor(end / 86400)
    Column("queue", String(KEY_CHARS), primary_key=True),
    Column("gpu_seconds", Float, nullable=False),
    Column("attempts", Integer, nullable=False),
)
"""Migration 0005: GPU-seconds of the attempts that ended each day, per queue."""

usage_users = Table(
    "usage_users",
    metadata,
    Column("user", String(KEY_CHARS), primary_key=True),
    Column("queue", String(KEY_CHARS), primary_key=True),
    Column("gpu_seconds", Float, nullable=False),
    Column("attempts", Integer, nullable=False),
)
"""Migration 0005: GPU-seconds of all attempts per queue and user. Both rollups are kept by a
trigger on every insert into ``job_attempts``."""

trials = Table(
    "trial_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # The job or pod template measured (namespace/job, or what `corral trial` was told).
    Column("job_key", String(KEY_CHARS), nullable=False),
    Column("gpu_type", String(255), nullable=False),
    Column("gpus", Integer, nullable=False),
    Column("share", Float, nullable=False),  # compute share of each GPU (1.0: whole GPUs)
    Column("throughput", Float, nullable=False),
    # What the workload reported (steps/s, samples/s), or gpu_util for the fallback.
    Column("unit", String(32), nullable=False),
    Column("measured_at", Float, nullable=False),
    # "local" (corral trial run) or "trialrun/<namespace>/<name>" (the agent's controller).
    Column("source", String(KEY_CHARS), nullable=False),
)
"""Migration 0003: one row per trial run of one configuration."""

Index("ix_trial_runs_job_key", trials.c.job_key)
