"""Usage per day, queue and user kept as rows are written, and indexes for job listings.

The dashboard's usage page sums GPU-time per project and user over time; summing a million
attempts per request is too slow, so ``usage_daily`` holds one row per (day, queue, user) with
the GPU-seconds of the attempts that ended that day. A trigger adds every new attempt to it,
so each writer (imports, the live scheduler, the node agent) keeps it current without knowing
of it, and the attempts stored before this migration are summed into it once here. Attempts
are only ever inserted (a profile updates measurements, never times), so inserts suffice.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_DAY = {"sqlite": 'CAST(NEW."end" / 86400 AS INTEGER)',
        "postgresql": 'CAST(floor(NEW."end" / 86400) AS INTEGER)'}
_GPU_SECONDS = '(NEW."end" - NEW.start) * NEW.tasks * NEW.gpu_milli / 1000.0'
_UPSERT = ("INSERT INTO usage_daily (day, queue, \"user\", gpu_seconds, attempts) "
           "VALUES ({day}, NEW.queue, NEW.\"user\", {seconds}, 1) "
           "ON CONFLICT (day, queue, \"user\") DO UPDATE SET "
           "gpu_seconds = usage_daily.gpu_seconds + excluded.gpu_seconds, "
           "attempts = usage_daily.attempts + 1")
_INDEXES = {"ix_job_attempts_queue_end": ("queue", "end"),
            "ix_job_attempts_user_end": ("user", "end"),
            "ix_job_attempts_outcome_end": ("outcome", "end")}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.execute('CREATE TABLE usage_daily (day INTEGER NOT NULL, queue VARCHAR(1024) NOT NULL, '
               '"user" VARCHAR(1024) NOT NULL, gpu_seconds FLOAT NOT NULL, '
               'attempts INTEGER NOT NULL, PRIMARY KEY (day, queue, "user"))')
    upsert = _UPSERT.format(day=_DAY[dialect], seconds=_GPU_SECONDS)
    if dialect == "postgresql":
        op.execute("CREATE FUNCTION corral_usage_daily() RETURNS trigger AS $$ BEGIN "
                   f"{upsert}; RETURN NULL; END $$ LANGUAGE plpgsql")
        op.execute("CREATE TRIGGER job_attempts_usage_daily AFTER INSERT ON job_attempts "
                   "FOR EACH ROW EXECUTE FUNCTION corral_usage_daily()")
    else:
        op.execute("CREATE TRIGGER job_attempts_usage_daily AFTER INSERT ON job_attempts "
                   f"BEGIN {upsert}; END")
    day = _DAY[dialect].replace("NEW.", "")
    seconds = _GPU_SECONDS.replace("NEW.", "")
    op.execute(f'INSERT INTO usage_daily (day, queue, "user", gpu_seconds, attempts) '
               f'SELECT {day}, queue, "user", SUM({seconds}), COUNT(*) FROM job_attempts '
               f'GROUP BY {day}, queue, "user"')
    for name, columns in _INDEXES.items():
        op.create_index(name, "job_attempts", list(columns))


def downgrade() -> None:
    for name in _INDEXES:
        op.drop_index(name, "job_attempts")
    op.execute("DROP TRIGGER job_attempts_usage_daily"
               + (" ON job_attempts" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION corral_usage_daily()")
    op.drop_table("usage_daily")
