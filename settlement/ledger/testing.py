"""Test support: a throwaway PostgreSQL schema per test, and a reason to skip when PG is absent."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

# The machine's PostgreSQL (trust auth); override for another server.
PG_URL_ENV = "HYPERBRICK_TEST_PG_URL"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def pg_base_url() -> str:
    """Return the PostgreSQL URL tests use."""
    return os.environ.get(PG_URL_ENV, DEFAULT_PG_URL)


def pg_unavailable_reason() -> str | None:
    """Return why PostgreSQL tests cannot run here, or None when they can."""
    engine = create_engine(pg_base_url(), connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
    except OperationalError as error:
        return f"PostgreSQL not reachable at {pg_base_url()} ({type(error.orig).__name__})"
    finally:
        engine.dispose()
    return None


@contextmanager
def pg_schema_url() -> Iterator[str]:
    """Create a fresh schema, yield a URL whose search_path points at it, then drop it."""
    import pytest  # only test runs reach this function

    reason = pg_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    schema = f"hb_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_base_url())
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{pg_base_url()}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
