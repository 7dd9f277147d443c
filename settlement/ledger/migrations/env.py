"""Alembic environment: runs on the connection handed in by `settlement.ledger.database.migrate`."""

from __future__ import annotations

from alembic import context

from settlement.ledger.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - the package always passes a connection
    raise RuntimeError("run migrations through settlement.ledger.database.migrate()")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
