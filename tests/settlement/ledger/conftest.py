"""Ledger fixtures: a fresh SQLite file, or a fresh PostgreSQL schema (skips when PG is absent)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from settlement.ledger import Ledger, open_ledger
from settlement.ledger.testing import pg_schema_url


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    """A migrated, empty ledger on each backend."""
    if request.param == "sqlite":
        book = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
        yield book
        book.close()
        return
    with pg_schema_url() as url:
        book = open_ledger(url)
        yield book
        book.close()
