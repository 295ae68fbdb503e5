"""PostgreSQL's unit of work on the driver: the hot statements skip SQLAlchemy's execution.

A statement through SQLAlchemy's asyncio layer costs ~0.2 ms of client CPU (a greenlet
switch, the cache key, the execution context, the result proxy), asyncpg's own prepared
statement ~0.03 ms; a message through the pipeline runs about ten of them. So on
PostgreSQL the unit of work owns its transaction on the asyncpg connection itself:

- the connection comes from SQLAlchemy's pool (pre-ping, pool size, invalidation stay
  SQLAlchemy's), checked out with AUTOCOMMIT so SQLAlchemy never begins or ends a
  transaction of its own on it; the unit of work's BEGIN/COMMIT/ROLLBACK are asyncpg's;
- a statement wrapped in `Hot` is compiled once by SQLAlchemy (the same SQL, bind and
  result processing: enums, aware UTC datetimes, naive ones refused) and then runs on
  asyncpg, whose statement cache prepares it once per connection;
- any other statement runs through SQLAlchemy on the same connection, in the same
  transaction.

Failures keep their meaning: a lost connection is DatabaseUnavailable (and the pooled
connection is invalidated), a constraint is SQLAlchemy's IntegrityError with the server's
SQLSTATE, and the first statement of a transaction is tried once more on a fresh
connection when the pooled one turns out dead (nothing had happened in that transaction).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import asyncpg
from asyncpg.exceptions import InternalClientError
from sqlalchemy import CursorResult, Executable
from sqlalchemy.engine import Connection, Dialect, Row
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from salesbot.adapters.persistence.transaction import (
    first_line,
    one_by_one,
    plain_statement,
    translated_errors,
)
from salesbot.application.errors import DatabaseUnavailable

T = TypeVar("T")

# Server-side reasons a connection is gone: the server shuts down, crashed, or is not
# accepting connections yet, or the session timed out.
_GONE_SQLSTATES = {"57P01", "57P02", "57P03", "57P05"}


class Hot:
    """A statement run straight on asyncpg on PostgreSQL (and through SQLAlchemy on other
    databases). Its parameters are named as in the statement; an IN list must be spelled
    out (no expanding parameters)."""

    __slots__ = ("_compiled", "statement")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: _Compiled | None = None

    def compiled(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = _Compiled(self.statement, dialect)
        return compiled


class _Compiled:
    """A statement as asyncpg runs it: SQL with `$n` parameters, how to fill them from named
    values, and how to turn its rows into rows like SQLAlchemy's."""

    def __init__(self, statement: Any, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        sql = compiled.string
        if "POSTCOMPILE" in sql:
            raise ValueError(f"a Hot statement cannot expand parameters: {sql}")
        self.sql = sql
        self.binds: list[tuple[str, Any, Callable[[Any], Any] | None]] = []
        for name in compiled.positiontup or ():
            bind = compiled.binds[name]
            default = _MISSING if bind.required else bind.effective_value
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            self.binds.append((name, default, processor))
        self.names = frozenset(compiled.binds)
        self._dialect = dialect
        self._columns = list(getattr(statement, "exported_columns", ()))
        self.returns_rows = bool(self._columns)
        self.row = collections.namedtuple(  # type: ignore[misc]
            "Row", [c.key for c in self._columns], rename=True
        )
        # Per column, SQLAlchemy's conversion of what the driver gives; known once the
        # server said which types the statement returns (`learn_result_types`).
        self.results: list[tuple[int, Callable[[Any], Any]]] | None = None

    def learn_result_types(self, type_oids: Sequence[int]) -> None:
        dialect = self._dialect
        results = []
        for index, (column, oid) in enumerate(zip(self._columns, type_oids, strict=True)):
            processor = column.type.dialect_impl(dialect).result_processor(dialect, oid)
            if processor is not None:
                results.append((index, processor))
        self.results = results

    def arguments(self, params: Mapping[str, Any] | None) -> list[Any]:
        params = params or {}
        if not self.names.issuperset(params):
            unknown = ", ".join(sorted(set(params) - self.names))
            raise StatementError(f"Unconsumed column names: {unknown}", self.sql, params, None)
        arguments = []
        for name, default, processor in self.binds:
            value = params.get(name, default)
            if value is _MISSING:
                raise StatementError(
                    f"A value is required for bind parameter {name!r}", self.sql, params, None
                )
            if processor is not None and value is not None:
                try:
                    value = processor(value)
                except Exception as exc:
                    raise StatementError(
                        f"({type(exc).__module__}.{type(exc).__qualname__}) {exc}",
                        self.sql,
                        params,
                        exc,
                    ) from exc
            arguments.append(value)
        return arguments

    def rows(self, records: Sequence[asyncpg.Record]) -> list[Any]:
        make, results = self.row._make, self.results
        assert results is not None, "learn_result_types first"
        if not results:
            return [make(record) for record in records]
        rows = []
        for record in records:
            values = list(record)
            for index, processor in results:
                values[index] = processor(values[index])
            rows.append(make(values))
        return rows


_MISSING = object()


class DriverResult:
    """The part of SQLAlchemy's Result the repositories use."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def first(self) -> Any | None:
        return self._rows[0] if self._rows else None

    def all(self) -> list[Any]:
        return list(self._rows)

    def scalar_one(self) -> Any:
        if len(self._rows) != 1:
            raise ValueError(f"expected one row, got {len(self._rows)}")
        return self._rows[0][0]

    def scalar_one_or_none(self) -> Any | None:
        if not self._rows:
            return None
        return self.scalar_one()


def _rowcount(status: str) -> int:
    """`UPDATE 3`, `DELETE 0`, `INSERT 0 1` -> the number of rows."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


class _Lost(Exception):
    """The connection went away under a statement (wraps the driver's error)."""


def _is_lost(exc: BaseException, driver: Any) -> bool:
    if isinstance(exc, _Lost):
        return True
    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated) or (driver is not None and driver.is_closed())
    if isinstance(exc, (OSError, asyncpg.PostgresConnectionError, InternalClientError)):
        # InternalClientError: the protocol is mid-way through something else, e.g. still
        # reading the FATAL message of a terminated backend.
        return True
    if getattr(exc, "sqlstate", None) in _GONE_SQLSTATES:
        return True
    return isinstance(exc, asyncpg.InterfaceError) and driver is not None and driver.is_closed()


class DriverTransaction:
    """The PostgreSQL unit of work's transaction (see the module's docstring)."""

    dialect = "postgresql"

    def __init__(self, engine: AsyncEngine) -> None:
        """`engine`: the engine with `isolation_level="AUTOCOMMIT"` (see `autocommit`)."""
        self._engine = engine
        self._sql_dialect = engine.dialect
        self._dbapi_error: type[Exception] = engine.dialect.loaded_dbapi.Error
        # The pool's connection; SQLAlchemy's Connection on it only once a statement that
        # is not Hot needs one (creating it for every unit of work costs ~0.05 ms).
        self._pooled: PoolProxiedConnection | None = None
        self._connection: AsyncConnection | None = None
        self._driver: Any = None
        self._xact: Any = None

    @staticmethod
    def autocommit(engine: AsyncEngine) -> AsyncEngine:
        """`engine`'s pool, with connections SQLAlchemy leaves transaction control of."""
        return engine.execution_options(isolation_level="AUTOCOMMIT")

    # --- the transaction -----------------------------------------------------------------

    async def _checkout(self) -> None:
        try:
            with translated_errors():
                self._pooled = await self._engine.raw_connection()
        except self._dbapi_error as exc:  # the pool hands the driver's errors on as they are
            raise DatabaseUnavailable(first_line(exc)) from exc

    def _sqlalchemy(self) -> AsyncConnection:
        """SQLAlchemy's connection on the pooled one (its engine's AUTOCOMMIT applied as it
        is made, and undone when it gives the pooled connection back)."""
        if self._connection is None:
            assert self._pooled is not None
            sync_connection = Connection(self._engine.sync_engine, self._pooled)
            self._connection = AsyncConnection(self._engine, sync_connection)
        return self._connection

    async def _start(self) -> None:
        """BEGIN on the checked-out connection."""
        assert self._pooled is not None
        driver = None
        try:
            driver = self._pooled.driver_connection
            if driver.is_in_transaction():
                # Never expected: a connection returned mid-transaction must not lend
                # that transaction to this unit of work.
                raise _Lost("a pooled connection was still in a transaction")
            xact = driver.transaction()
            await xact.start()
        except BaseException as exc:
            lost = isinstance(exc, _Lost) or _is_lost(exc, driver)
            await self._end(invalidate=lost or not isinstance(exc, Exception))
            if lost:
                raise DatabaseUnavailable(first_line(exc)) from exc
            raise
        self._driver, self._xact = driver, xact

    async def _end(self, *, invalidate: bool = False) -> None:
        connection, pooled = self._connection, self._pooled
        self._connection = self._pooled = self._driver = self._xact = None
        try:
            if connection is not None:  # it gives the pooled connection back itself
                if invalidate:
                    await connection.invalidate()
                await connection.close()
            elif pooled is not None:
                # Invalidating gives it back too (closed for good).
                await greenlet_spawn(pooled.invalidate if invalidate else pooled.close)
        except (DBAPIError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            pass
        except self._dbapi_error:
            pass
        except asyncio.CancelledError:
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.invalidate()
            raise

    async def _run(self, work: Callable[[], Awaitable[T]]) -> T:
        """`work` in the transaction, begun if it was not. The first statement of a
        transaction (its BEGIN included) is tried once more on a fresh connection when the
        pooled one turns out dead (a server restart the pool had not noticed yet)."""
        first = self._xact is None
        if first:
            await self._checkout()
        try:
            if first:
                await self._start()
            return await self._guarded(work)
        except DatabaseUnavailable as exc:
            if not (first and _is_lost(exc.__cause__ or exc, self._driver)):
                raise
        await self._end(invalidate=True)
        await self._checkout()
        await self._start()
        return await self._guarded(work)

    async def _guarded(self, work: Callable[[], Awaitable[T]]) -> T:
        try:
            with translated_errors():
                return await work()
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(getattr(exc, "query", None), None, exc) from exc
        except DatabaseUnavailable:
            raise
        except (asyncpg.PostgresError, asyncpg.InterfaceError, InternalClientError) as exc:
            if _is_lost(exc, self._driver):
                raise DatabaseUnavailable(first_line(exc)) from exc
            # As SQLAlchemy would have raised it (e.g. a value too long for its column).
            raise DBAPIError(getattr(exc, "query", None), None, exc) from exc

    async def commit(self) -> None:
        await self._finish(lambda xact: xact.commit())

    async def rollback(self) -> None:
        await self._finish(lambda xact: xact.rollback())

    async def _finish(self, end: Callable[[Any], Awaitable[None]]) -> None:
        """End the transaction with `end` (its COMMIT or ROLLBACK) and give the connection
        back; thrown away instead when that fails, since its state is then unknown."""
        xact = self._xact
        if xact is None:
            return
        try:
            await self._guarded(lambda: end(xact))
        except BaseException:
            await self._end(invalidate=True)
            raise
        await self._end()

    async def close(self) -> None:
        """Roll back what was not committed and give the connection back; one that cannot
        be rolled back is thrown away rather than pooled mid-transaction."""
        xact, driver = self._xact, self._driver
        rolled_back = xact is None
        try:
            if xact is not None and not driver.is_closed():
                with contextlib.suppress(Exception):
                    await xact.rollback()
                    rolled_back = not driver.is_in_transaction()
        finally:
            await self._end(invalidate=not rolled_back)

    # --- statements ----------------------------------------------------------------------

    async def execute(
        self, statement: Executable | Hot, params: Mapping[str, Any] | None = None
    ) -> CursorResult[Any] | DriverResult:
        if isinstance(statement, Hot):
            compiled = statement.compiled(self._sql_dialect)
            arguments = compiled.arguments(params)
            return await self._run(lambda: self._on_driver(compiled, arguments))

        async def through_sqlalchemy() -> CursorResult[Any]:
            return await self._sqlalchemy().execute(statement, params)

        return await self._run(through_sqlalchemy)

    async def _on_driver(self, compiled: _Compiled, arguments: list[Any]) -> DriverResult:
        driver = self._driver
        if compiled.returns_rows:
            if compiled.results is None:
                # Once per statement and process: a round trip to learn the result types.
                prepared = await driver.prepare(compiled.sql)
                compiled.learn_result_types([a.type.oid for a in prepared.get_attributes()])
            rows = compiled.rows(await driver.fetch(compiled.sql, *arguments))
            return DriverResult(rows, len(rows))
        return DriverResult([], _rowcount(await driver.execute(compiled.sql, *arguments)))

    async def driver_connection(self) -> Any:
        """asyncpg's connection under the transaction (begun if it was not), for COPY."""

        async def driver() -> Any:
            return self._driver

        return await self._run(driver)

    def stream(
        self, statement: Executable | Hot, params: Mapping[str, Any] | None, batch_size: int
    ) -> AsyncIterator[Row[Any]]:
        """Rows fetched `batch_size` at a time (a server-side cursor)."""
        return one_by_one(self.stream_batches(statement, params, batch_size))

    async def stream_batches(
        self, statement: Executable | Hot, params: Mapping[str, Any] | None, batch_size: int
    ) -> AsyncIterator[Sequence[Row[Any]]]:
        """`stream`'s rows, a list of up to `batch_size` at a time."""
        batched = plain_statement(statement).execution_options(yield_per=batch_size)

        async def open_stream() -> Any:
            return await self._sqlalchemy().stream(batched, params)

        result = await self._run(open_stream)
        try:
            while True:
                rows = await self._guarded(lambda: result.fetchmany(batch_size))
                if not rows:
                    return
                yield rows
        finally:
            await result.close()
