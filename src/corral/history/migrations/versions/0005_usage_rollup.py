"""Usage per day, queue and user kept as rows are written, and indexes for job listings.

The dashboard's usage page sums GPU-time per project over time and per user; summing a million
attempts per request is too slow, so ``usage_daily`` holds one row per (day, queue) with the
GPU-seconds of the attempts that ended that day, and ``usage_users`` one per (queue, user)
over all time (per day and user would be hundreds of thousands of rows for a year of a large
lab, as slow to sum again). A trigger adds every new attempt to both,
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
_TABLES = {"usage_daily": ("day", "day INTEGER NOT NULL"),
           "usage_users": ('"user"', '"user" VARCHAR(1024) NOT NULL')}
"""Each rollup: the key it adds to the queue, and that column's definition."""
_UPSERT = ("INSERT INTO {table} ({key}, queue, gpu_seconds, attempts) "
           "VALUES ({value}, NEW.queue, {seconds}, 1) "
           "ON CONFLICT ({key}, queue) DO UPDATE SET "
           "gpu_seconds = {table}.gpu_seconds + excluded.gpu_seconds, "
           "attempts = {table}.attempts + 1")
_INDEXES = {"ix_job_attempts_queue_end": ("queue", "end"),
            "ix_job_attempts_user_end": ("user", "end"),
            "ix_job_attempts_outcome_end": ("outcome", "end")}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    values = {"usage_daily": _DAY[dialect], "usage_users": 'NEW."user"'}
    upserts = []
    for table, (key, column) in _TABLES.items():
        op.execute(f"CREATE TABLE {table} ({column}, queue VARCHAR(1024) NOT NULL, "
                   "gpu_seconds FLOAT NOT NULL, attempts INTEGER NOT NULL, "
                   f"PRIMARY KEY ({key}, queue))")
        upserts.append(_UPSERT.format(table=table, key=key, value=values[table],
                                      seconds=_GPU_SECONDS))
        value = values[table].replace("NEW.", "")
        op.execute(f"INSERT INTO {table} ({key}, queue, gpu_seconds, attempts) "
                   f"SELECT {value}, queue, SUM({_GPU_SECONDS.replace('NEW.', '')}), COUNT(*) "
                   f"FROM job_attempts GROUP BY {value}, queue")
    body = "; ".join(upserts)
    if dialect == "postgresql":
        op.execute("CREATE FUNCTION corral_usage_rollup() RETURNS trigger AS $$ BEGIN "
                   f"{body}; RETURN NULL; END $$ LANGUAGE plpgsql")
        op.execute("CREATE TRIGGER job_attempts_usage AFTER INSERT ON job_attempts "
                   "FOR EACH ROW EXECUTE FUNCTION corral_usage_rollup()")
    else:
        op.execute(f"CREATE TRIGGER job_attempts_usage AFTER INSERT ON job_attempts "
                   f"BEGIN {body}; END")
    for name, columns in _INDEXES.items():
        op.create_index(name, "job_attempts", list(columns))


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name in _INDEXES:
        op.drop_index(name, "job_attempts")
    op.execute("DROP TRIGGER job_attempts_usage" + (" ON job_attempts" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION corral_usage_rollup()")
    for table in _TABLES:
        op.drop_table(table)
