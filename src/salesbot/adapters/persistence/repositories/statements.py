"""Statements whose SQL differs between PostgreSQL and SQLite, built once per dialect.

Both speak `INSERT ... ON CONFLICT`, which is how idempotent inserts stay one round trip
that never aborts the transaction; SQLAlchemy spells it per dialect.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


@functools.cache
def insert_ignoring_duplicates(table: Table) -> dict[str, Insert]:
    """Per dialect: insert a row unless it breaks a unique constraint, returning it if
    it went in (no row when it did not)."""
    return {
        name: make(table).on_conflict_do_nothing().returning(*table.c)
        for name, make in _INSERTS.items()
    }


@functools.cache
def upsert(table: Table, key: tuple[str, ...], columns: Sequence[str]) -> dict[str, Insert]:
    """Per dialect: insert a row or, when `key` exists, overwrite its `columns`."""
    statements = {}
    for name, make in _INSERTS.items():
        statement = make(table)
        statements[name] = statement.on_conflict_do_update(
            index_elements=list(key),
            set_={column: statement.excluded[column] for column in columns},
        )
    return statements
