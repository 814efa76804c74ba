"""Alembic environment: runs on the connection the store hands over (online mode only)."""

from alembic import context

from corral.history.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
