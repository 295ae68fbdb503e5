"""Statements whose SQL differs between PostgreSQL and SQLite, built once per dialect.

Both speak `INSERT ... ON CONFLICT`, which is how idempotent inserts stay one round trip
that never aborts the transaction; SQLAlchemy spells it per dialect. SQLAlchemy does not
cache the compiled SQL of its dialect-specific inserts (their ON CONFLICT clause has no
cache key), and compiling one costs more than the round trip itself; `precompiled` turns
each into a typed `text()` once, which SQLAlchemy caches like any other statement.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Executable, Table, bindparam, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.dialects.sqlite.base import SQLiteDialect
from sqlalchemy.sql.dml import Insert

from salesbot.adapters.persistence.driver import Hot

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
# The base dialects, rendering plain `:name` parameters that `text()` reads back (a driver's
# dialect may add casts, `:name::VARCHAR`, which it would not).
_NAMED = {
    "postgresql": PGDialect(paramstyle="named"),
    "sqlite": SQLiteDialect(paramstyle="named"),
}


@functools.cache
def insert_ignoring_duplicates(table: Table) -> dict[str, Insert]:
    """Per dialect: insert a row unless it breaks a unique constraint, returning it if
    it went in (no row when it did not)."""
    return {
        name: make(table).on_conflict_do_nothing().returning(*table.c)
        for name, make in _INSERTS.items()
    }


@functools.cache
def upsert(table: Table, key: tuple[str, ...], columns: tuple[str, ...]) -> dict[str, Insert]:
    """Per dialect: insert a row or, when `key` exists, overwrite its `columns`."""
    statements = {}
    for name, make in _INSERTS.items():
        statement = make(table)
        statements[name] = statement.on_conflict_do_update(
            index_elements=list(key),
            set_={column: statement.excluded[column] for column in columns},
        )
    return statements


def precompiled(statement: Insert, dialect: str, keys: Iterable[str]) -> Hot:
    """`statement` for `dialect`, inserting the columns named by `keys` (the parameters it
    will be executed with), as a cacheable `text()` with the same types in and out (and run
    on the driver on PostgreSQL)."""
    return _precompiled(statement, dialect, tuple(keys))


@functools.cache
def _precompiled(statement: Insert, dialect: str, keys: tuple[str, ...]) -> Hot:
    returning = statement._returning  # the columns it returns (no public accessor)
    return Hot(_as_text(statement, dialect, returning, column_keys=list(keys)))


def as_text(statement: Executable, dialect: str, columns: Iterable[ColumnElement[Any]]) -> Any:
    """`statement` (whose parameters are all named `bindparam`s) as a cacheable `text()`
    for `dialect`, returning `columns`: for statements SQLAlchemy will not cache, such as
    an INSERT ... ON CONFLICT inside a CTE. Call it once per statement and keep the result."""
    return _as_text(statement, dialect, tuple(columns))


def _as_text(
    statement: Executable,
    dialect: str,
    returning: Sequence[ColumnElement[Any]],
    column_keys: list[str] | None = None,
) -> Any:
    compiled = statement.compile(dialect=_NAMED[dialect], column_keys=column_keys)  # type: ignore[attr-defined]
    clause = text(compiled.string).bindparams(
        *(bindparam(name, type_=bind.type) for name, bind in compiled.binds.items())
    )
    return clause.columns(*returning) if returning else clause
