"""Measured job profiles next to each attempt: peak GPU utilisation, achieved GPU share, and how
many pods the profile merges (gpu_util and gpu_mem_peak_mib exist since 0001).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job_attempts") as batch:
        batch.add_column(sa.Column("gpu_util_peak", sa.Float, nullable=True))
        batch.add_column(sa.Column("gpu_share_achieved", sa.Float, nullable=True))
        batch.add_column(sa.Column("profiled_pods", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_attempts") as batch:
        batch.drop_column("profiled_pods")
        batch.drop_column("gpu_share_achieved")
        batch.drop_column("gpu_util_peak")
