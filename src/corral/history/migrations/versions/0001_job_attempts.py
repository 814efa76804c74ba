"""The job_attempts table: one row per job attempt.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_attempts",
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("job_id", sa.String(255), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("user", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("queue", sa.String(255), nullable=False),
        sa.Column("tasks", sa.Integer, nullable=False),
        sa.Column("gpu_milli", sa.Integer, nullable=False),
        sa.Column("gpu_type", sa.String(64), nullable=False),
        sa.Column("submit", sa.Float, nullable=False),
        sa.Column("start", sa.Float, nullable=False),
        sa.Column("end", sa.Float, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("gpu_util", sa.Float, nullable=True),
        sa.Column("gpu_mem_peak_mib", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("source", "job_id", "attempt"),
    )
    op.create_index("ix_job_attempts_end", "job_attempts", ["end"])


def downgrade() -> None:
    op.drop_index("ix_job_attempts_end", table_name="job_attempts")
    op.drop_table("job_attempts")
