"""The trial_runs table: throughput measured by ``corral trial`` and the agent's TrialRun
controller, one row per job (or pod template) and configuration run.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trial_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_key", sa.String(255), nullable=False),
        sa.Column("gpu_type", sa.String(64), nullable=False),
        sa.Column("gpus", sa.Integer, nullable=False),
        sa.Column("share", sa.Float, nullable=False),
        sa.Column("throughput", sa.Float, nullable=False),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("measured_at", sa.Float, nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
    )
    op.create_index("ix_trial_runs_job_key", "trial_runs", ["job_key"])


def downgrade() -> None:
    op.drop_index("ix_trial_runs_job_key", "trial_runs")
    op.drop_table("trial_runs")
