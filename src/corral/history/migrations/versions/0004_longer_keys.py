"""Longer keys and names: a Kubernetes ``namespace/pod`` key is up to 317 characters, over the
255 that job ids, users, names and queues held, and a TrialRun's source
(``trialrun/<namespace>/<name>``) over its 64. They now hold 1024 (GPU types 255).

PostgreSQL enforces declared lengths, so its columns are widened (a longer varchar rewrites
nothing). SQLite ignores them, so its tables are left as they are rather than copied whole;
the store checks every row against the lengths of the schema on both.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_WIDENED = {
    "job_attempts": {"source": (255, 1024), "job_id": (255, 1024), "user": (255, 1024),
                     "name": (255, 1024), "queue": (255, 1024), "gpu_type": (64, 255)},
    "trial_runs": {"job_key": (255, 1024), "gpu_type": (64, 255), "source": (64, 1024)},
}
"""Per table and column: (length before, length after)."""


def _alter(forward: bool) -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, columns in _WIDENED.items():
        for column, (before, after) in columns.items():
            old, new = (before, after) if forward else (after, before)
            op.alter_column(table, column, type_=sa.String(new), existing_type=sa.String(old),
                            existing_nullable=False)


def upgrade() -> None:
    _alter(forward=True)


def downgrade() -> None:
    _alter(forward=False)
