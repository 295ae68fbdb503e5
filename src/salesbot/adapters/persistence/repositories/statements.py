"""Idempotent inserts: one round trip that never aborts the transaction on a duplicate."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.dml import Insert


def insert_ignoring_duplicates(table: Table) -> Insert:
    """Insert a row unless it breaks a unique constraint, returning it if it went in (no
    row when it did not)."""
    return postgresql.insert(table).on_conflict_do_nothing().returning(*table.c)


def upsert(table: Table, key: tuple[str, ...], columns: tuple[str, ...]) -> Insert:
    """Insert a row or, when `key` exists, overwrite its `columns`."""
    statement = postgresql.insert(table)
    return statement.on_conflict_do_update(
        index_elements=list(key),
        set_={column: statement.excluded[column] for column in columns},
    )
