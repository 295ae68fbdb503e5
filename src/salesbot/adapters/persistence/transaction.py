"""The unit of work's transaction as the repositories see it: SQLAlchemy Core statements on
one pooled asyncpg connection, with the driver's failures translated into the ports' errors.

It is the one way a statement runs. The connection is checked out and the transaction begun
at the first statement; commit, rollback and close give it back. A pooled connection that a
server restart killed shows itself at that first statement, which is then tried once more
on a fresh one (SQLAlchemy's "optimistic" disconnect handling: pinging every connection
at checkout would double the cost of a small unit of work).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

import asyncpg
from sqlalchemy import CursorResult, Executable
from sqlalchemy.engine import Row
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from salesbot.application.errors import DatabaseUnavailable

_UNIQUE_VIOLATION = "23505"
_FOREIGN_KEY_VIOLATION = "23503"
_NOT_NULL_VIOLATION = "23502"
# The server shuts down, crashed, is not accepting connections yet, or the session timed out.
_GONE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "57P05"})


@contextlib.contextmanager
def translated_errors() -> Iterator[None]:
    """Lost connections and an unreachable server become DatabaseUnavailable; every other
    error stays what it is."""
    try:
        yield
    except IntegrityError:
        raise
    except DBAPIError as exc:
        if (
            exc.connection_invalidated
            or isinstance(exc, (OperationalError, InterfaceError))
            or _sqlstate(exc) in _GONE_SQLSTATES
        ):
            raise DatabaseUnavailable(first_line(exc)) from exc
        raise
    except (OSError, PoolTimeout, asyncpg.PostgresConnectionError) as exc:
        raise DatabaseUnavailable(first_line(exc)) from exc


def _invalidated(exc: DatabaseUnavailable) -> bool:
    cause = exc.__cause__
    return isinstance(cause, DBAPIError) and bool(cause.connection_invalidated)


def first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc) or type(exc).__name__
    return text.splitlines()[0]


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)


def is_unique_violation(exc: IntegrityError) -> bool:
    return _sqlstate(exc) == _UNIQUE_VIOLATION


def is_missing_reference(exc: IntegrityError) -> bool:
    """A foreign key names no row, or a value derived from one came out NULL."""
    return _sqlstate(exc) in (_FOREIGN_KEY_VIOLATION, _NOT_NULL_VIOLATION)


class Transaction:
    """One database transaction, begun by its first statement."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None

    async def _begun(self) -> AsyncConnection:
        if self._connection is None:
            with translated_errors():
                connection = await self._engine.connect()
                try:
                    await connection.begin()
                except BaseException:
                    await connection.close()
                    raise
            self._connection = connection
        return self._connection

    async def execute(
        self,
        statement: Executable,
        params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    ) -> CursorResult[Any]:
        """One statement in the transaction; a list of `params` runs it for each (batched
        into multi-row statements by SQLAlchemy's "insertmanyvalues" for an INSERT)."""
        first = self._connection is None
        connection = await self._begun()
        try:
            with translated_errors():
                return await connection.execute(statement, params)
        except DatabaseUnavailable as exc:
            if not (first and _invalidated(exc)):
                raise
        # The pooled connection was dead (a server restart the pool had not noticed yet);
        # nothing had happened in this transaction: once more, on a fresh connection (the
        # pool replaces every connection older than the failure).
        await self.close()
        connection = await self._begun()
        with translated_errors():
            return await connection.execute(statement, params)

    async def stream_batches(
        self, statement: Executable, params: Mapping[str, Any] | None, batch_size: int
    ) -> AsyncGenerator[Sequence[Row[Any]], None]:
        """The statement's rows, a list of up to `batch_size` at a time (a server-side
        cursor): bounded memory however many rows it has."""
        connection = await self._begun()
        with translated_errors():
            result = await connection.stream(
                statement.execution_options(yield_per=batch_size), params
            )
        try:
            while True:
                with translated_errors():
                    rows = await result.fetchmany(batch_size)
                if not rows:
                    return
                yield rows
        finally:
            await result.close()

    async def driver_connection(self) -> Any:
        """asyncpg's own connection under the transaction, for what SQLAlchemy cannot do:
        COPY."""
        connection = await self._begun()
        with translated_errors():
            pooled = await connection.get_raw_connection()
        return pooled.driver_connection

    async def commit(self) -> None:
        await self._end(commit=True)

    async def rollback(self) -> None:
        await self._end(commit=False)

    async def _end(self, *, commit: bool) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            with translated_errors():
                if commit:
                    await connection.commit()
                else:
                    await connection.rollback()
        finally:
            await _close(connection)

    async def close(self) -> None:
        """Roll back what was not committed and give the connection back."""
        connection, self._connection = self._connection, None
        if connection is not None:
            await _close(connection)


async def _close(connection: AsyncConnection) -> None:
    """Give the connection back to the pool (which rolls back an open transaction); one
    that cannot be rolled back is thrown away by the pool rather than reused."""
    try:
        await connection.close()
    except (DBAPIError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        pass
    except asyncio.CancelledError:
        # Cut off half-way: a connection in an unknown state is never pooled again.
        with contextlib.suppress(Exception):
            await connection.invalidate()
        raise


@contextlib.asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[Transaction]:
    """A transaction for reads only: whatever happens in it is rolled back at the end."""
    transaction = Transaction(engine)
    try:
        yield transaction
    finally:
        await transaction.close()
