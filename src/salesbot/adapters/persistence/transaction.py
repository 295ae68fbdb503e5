"""The unit of work's transaction as the repositories see it: Core statements in one
database transaction, with the driver's failures translated into the ports' errors.

`SessionTransaction` runs them on an SQLAlchemy session's connection (SQLite);
PostgreSQL's `DriverTransaction` (driver.py) runs the hot ones on asyncpg itself."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy import CursorResult, Executable
from sqlalchemy.engine import Row
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from salesbot.application.errors import DatabaseUnavailable

if TYPE_CHECKING:
    from salesbot.adapters.persistence.driver import Hot

T = TypeVar("T")

_UNIQUE_VIOLATION = "23505"
_FOREIGN_KEY_VIOLATION = "23503"
_NOT_NULL_VIOLATION = "23502"


@contextlib.contextmanager
def translated_errors() -> Iterator[None]:
    """Lost connections, an unreachable server and a busy SQLite become
    DatabaseUnavailable; every other error stays what it is."""
    try:
        yield
    except IntegrityError:
        raise
    except DBAPIError as exc:
        if exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError)):
            raise DatabaseUnavailable(first_line(exc)) from exc
        raise
    except (OSError, PoolTimeout) as exc:
        raise DatabaseUnavailable(first_line(exc)) from exc


def first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc) or type(exc).__name__
    return text.splitlines()[0]


def _sqlstate(exc: IntegrityError) -> str | None:
    return getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)


def is_unique_violation(exc: IntegrityError) -> bool:
    return _sqlstate(exc) == _UNIQUE_VIOLATION or "UNIQUE constraint failed" in str(exc.orig)


def is_missing_reference(exc: IntegrityError) -> bool:
    """A foreign key names no row, or a value derived from one came out NULL."""
    return _sqlstate(exc) in (_FOREIGN_KEY_VIOLATION, _NOT_NULL_VIOLATION) or any(
        text in str(exc.orig)
        for text in ("FOREIGN KEY constraint failed", "NOT NULL constraint failed")
    )


async def one_by_one(batches: AsyncIterator[Sequence[T]]) -> AsyncIterator[T]:
    """The items of `batches`, closing them however the caller stops reading."""
    async with contextlib.aclosing(batches):  # type: ignore[type-var]
        async for batch in batches:
            for item in batch:
                yield item


class Transaction(Protocol):
    """What the repositories run their statements on; a statement wrapped in `Hot` may
    skip SQLAlchemy's execution (PostgreSQL) and gives a result with the same reading
    methods (`first`, `all`, iteration, `scalar_one`, `rowcount`)."""

    dialect: str

    async def execute(
        self, statement: Executable | Hot, params: Mapping[str, Any] | None = None
    ) -> Any: ...

    def stream(
        self, statement: Executable | Hot, params: Mapping[str, Any] | None, batch_size: int
    ) -> AsyncIterator[Row[Any]]: ...

    def stream_batches(
        self, statement: Executable | Hot, params: Mapping[str, Any] | None, batch_size: int
    ) -> AsyncIterator[Sequence[Row[Any]]]: ...

    async def driver_connection(self) -> Any:
        """The driver's own connection under the transaction (begun if it was not), for
        what SQLAlchemy cannot do: COPY."""

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def close(self) -> None: ...


class SessionTransaction:
    """Implements Transaction on an SQLAlchemy session (every statement through it)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._connection: AsyncConnection | None = None
        bind = session.bind
        assert bind is not None, "the session factory must be bound to an engine"
        self.dialect = bind.dialect.name

    async def connection(self) -> AsyncConnection:
        if self._connection is None:
            with translated_errors():
                self._connection = await self._session.connection()
        return self._connection

    async def _run(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """`work` on the transaction's connection. The first statement of a transaction is
        tried once more on a fresh connection when the pooled one turns out dead (a server
        restart the pool had not noticed yet): nothing had happened in that transaction."""
        first = self._connection is None
        connection = await self.connection()
        try:
            with translated_errors():
                return await work(connection)
        except DatabaseUnavailable as exc:
            cause = exc.__cause__
            if not (first and isinstance(cause, DBAPIError) and cause.connection_invalidated):
                raise
        with contextlib.suppress(DBAPIError, OSError):
            await self._session.rollback()
        self._connection = None
        connection = await self.connection()
        with translated_errors():
            return await work(connection)

    async def execute(
        self, statement: Executable | Hot, params: Mapping[str, Any] | None = None
    ) -> CursorResult[Any]:
        core = plain_statement(statement)
        return await self._run(lambda connection: connection.execute(core, params))

    def stream(
        self, statement: Executable | Hot, params: Mapping[str, Any] | None, batch_size: int
    ) -> AsyncIterator[Row[Any]]:
        """Rows fetched `batch_size` at a time (a server-side cursor on PostgreSQL)."""
        return one_by_one(self.stream_batches(statement, params, batch_size))

    async def stream_batches(
        self, statement: Executable | Hot, params: Mapping[str, Any] | None, batch_size: int
    ) -> AsyncIterator[Sequence[Row[Any]]]:
        """`stream`'s rows, a list of up to `batch_size` at a time."""
        batched = plain_statement(statement).execution_options(yield_per=batch_size)
        result = await self._run(lambda connection: connection.stream(batched, params))
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
        """The driver's own connection under the transaction's (asyncpg's on PostgreSQL),
        for what SQLAlchemy cannot do: COPY."""
        connection = await self.connection()
        with translated_errors():
            fairy = await connection.get_raw_connection()
        return fairy.driver_connection

    async def commit(self) -> None:
        with translated_errors():
            await self._session.commit()
        self._connection = None

    async def rollback(self) -> None:
        with translated_errors():
            await self._session.rollback()
        self._connection = None

    async def close(self) -> None:
        self._connection = None
        with contextlib.suppress(DBAPIError, OSError):
            await self._session.close()


def plain_statement(statement: Executable | Hot) -> Executable:
    """The SQLAlchemy statement, unwrapped from `Hot` when it is wrapped."""
    return statement if isinstance(statement, Executable) else statement.statement
