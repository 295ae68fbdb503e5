"""AccountCallQueue on PostgreSQL: the `account_calls` table (revision 0018), woken by
LISTEN/NOTIFY.

The table is the truth, the notifications only say "look now": a caller's insert NOTIFYs
`salesbot_calls` (payload: the account id) and the owner's answer NOTIFYs
`salesbot_call_done` (payload: the call id), each from the transaction that writes the
row, so a notification never comes before what it announces is visible. Notifications are
heard on one dedicated connection per process; when it is lost (a server restart, a cut),
what was said meanwhile is gone, so every wait also ends after its timeout (the poll) and
the next wait connects again: a lost notification costs a poll interval, never a call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Collection
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import Text, bindparam, cast, delete, func, literal, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from salesbot.adapters.persistence.models import account_calls
from salesbot.adapters.persistence.transaction import Transaction, reading, translated_errors
from salesbot.application.errors import DatabaseUnavailable
from salesbot.application.ports import AccountCall, AccountCallStatus, CallOutcome

log = logging.getLogger(__name__)

CALLS_CHANNEL = "salesbot_calls"
DONE_CHANNEL = "salesbot_call_done"
CLAIM_LIMIT = 100
PING_EVERY = 5.0
"""Seconds between two checks that the listening connection still answers (a connection
cut without a word from the server would otherwise listen to nothing for hours)."""
PING_TIMEOUT = 5.0
_REMEMBERED = 10_000
"""How many settled call ids are remembered: a notification heard just before its caller
begins to wait is not waited for again."""

_c = account_calls.c
_OPEN = text("account_calls.status IN ('queued', 'running')")  # the claim's partial index

_queued = (
    account_calls.insert()
    .values(
        account_id=bindparam("account_id"),
        call=bindparam("call"),
        args=bindparam("args"),
        created_at=bindparam("at"),
    )
    .returning(_c.id, _c.account_id)
    .cte("queued")
)
_PUT = select(
    _queued.c.id, func.pg_notify(literal(CALLS_CHANNEL), cast(_queued.c.account_id, Text))
)

_picked = (
    select(_c.id)
    .where(
        _OPEN,
        _c.account_id.in_(bindparam("account_ids", expanding=True)),
        _c.created_at >= bindparam("since"),
        _c.taken_by.is_distinct_from(bindparam("taker")),
    )
    .order_by(_c.id)
    .limit(CLAIM_LIMIT)
    .with_for_update(skip_locked=True)
)
_CLAIM = (
    update(account_calls)
    .where(_c.id.in_(_picked.scalar_subquery()))
    .values(status="running", taken_by=bindparam("taker"), taken_at=func.now())
    .returning(_c.id, _c.account_id, _c.call, _c.args)
)

_settled = (
    update(account_calls)
    .where(_c.id == bindparam("call_id"), _c.status == "running")
    .values(status=bindparam("status"), result=bindparam("result"), done_at=func.now())
    .returning(_c.id)
    .cte("settled")
)
_FINISH = select(_settled.c.id, func.pg_notify(literal(DONE_CHANNEL), cast(_settled.c.id, Text)))
_ABANDON = (
    update(account_calls)
    .where(_c.id == bindparam("call_id"), _OPEN)
    .values(status="abandoned", done_at=func.now())
)
_OUTCOME = select(_c.status, _c.result).where(_c.id == bindparam("call_id"))
_PRUNE = delete(account_calls).where(_c.created_at < bindparam("before"))


class PgAccountCalls:
    """Implements AccountCallQueue. `close()` lets the listening connection go."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._listener = _Listener(engine)

    async def put(
        self, account_id: int, call: str, args: dict[str, object], *, at: datetime
    ) -> int:
        await self._listener.listening()  # before the call exists: its answer is heard
        values = {"account_id": account_id, "call": call, "args": args, "at": at}
        return int(await self._write_one(_PUT, values))

    async def claim(
        self, account_ids: Collection[int], taker: str, *, queued_since: datetime
    ) -> list[AccountCall]:
        if not account_ids:
            return []
        await self._listener.listening()
        values = {"account_ids": sorted(account_ids), "taker": taker, "since": queued_since}
        tx = Transaction(self._engine)
        try:
            rows = (await tx.execute(_CLAIM, values)).all()
            await tx.commit()
        finally:
            await tx.close()
        calls = [AccountCall(row.id, row.account_id, row.call, dict(row.args)) for row in rows]
        return sorted(calls, key=lambda c: c.id)

    async def finish(
        self,
        call_id: int,
        *,
        result: dict[str, object] | None = None,
        error: dict[str, object] | None = None,
    ) -> bool:
        status = "failed" if error is not None else "done"
        payload = error if error is not None else (result or {})
        values = {"call_id": call_id, "status": status, "result": payload}
        return await self._write_one(_FINISH, values) is not None

    async def abandon(self, call_id: int) -> bool:
        tx = Transaction(self._engine)
        try:
            result = await tx.execute(_ABANDON, {"call_id": call_id})
            await tx.commit()
        finally:
            await tx.close()
        return bool(result.rowcount)

    async def outcome(self, call_id: int) -> CallOutcome | None:
        async with reading(self._engine) as tx:
            row = (await tx.execute(_OUTCOME, {"call_id": call_id})).one_or_none()
        if row is None:
            return None
        status: AccountCallStatus = row.status
        return CallOutcome(status, dict(row.result) if row.result is not None else None)

    async def wait_for_calls(self, timeout: float) -> None:
        await self._listener.wait_for_calls(timeout)

    async def wait_for_outcome(self, call_id: int, timeout: float) -> None:
        await self._listener.wait_for_outcome(call_id, timeout)

    async def prune(self, created_before: datetime) -> int:
        tx = Transaction(self._engine)
        try:
            result = await tx.execute(_PRUNE, {"before": created_before})
            await tx.commit()
        finally:
            await tx.close()
        return int(result.rowcount)

    async def close(self) -> None:
        await self._listener.close()

    async def _write_one(self, statement: Any, values: dict[str, Any]) -> Any:
        """The first column of the statement's one row (None without one), committed: the
        notifications it sends go out with the commit."""
        tx = Transaction(self._engine)
        try:
            value = (await tx.execute(statement, values)).scalar_one_or_none()
            await tx.commit()
        finally:
            await tx.close()
        return value


class _Listener:
    """The process's LISTEN connection: what it hears sets events the waits are on."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None
        self._driver: Any = None
        self._mutex = asyncio.Lock()
        self._checked_at = 0.0
        self._calls = asyncio.Event()
        self._settled: OrderedDict[int, None] = OrderedDict()
        self._waiting: dict[int, asyncio.Event] = {}

    async def listening(self) -> None:
        """Connect and LISTEN unless it does already; DatabaseUnavailable when it cannot."""
        async with self._mutex:
            if self._driver is not None and not self._driver.is_closed():
                return
            await self._drop()
            try:
                connection = await self._connect()
            except DatabaseUnavailable as error:
                if not _invalidated(error):
                    raise
                # A pooled connection a server restart killed (the pool now replaces the
                # others too): once more, on a fresh one.
                connection = await self._connect()
            try:
                with translated_errors():
                    pooled = await connection.get_raw_connection()
                    driver = pooled.driver_connection
                    assert driver is not None
                    await driver.add_listener(CALLS_CHANNEL, self._heard)
                    await driver.add_listener(DONE_CHANNEL, self._heard)
                    driver.add_termination_listener(self._lost)
            except asyncpg.InterfaceError as error:
                await _throw_away(connection)
                raise DatabaseUnavailable(str(error)) from error
            except BaseException:
                await _throw_away(connection)
                raise
            self._connection, self._driver = connection, driver
            self._checked_at = time.monotonic()
            # Anything may have been said while nobody listened: every waiter looks again.
            self._calls.set()
            for event in self._waiting.values():
                event.set()

    async def _connect(self) -> AsyncConnection:
        """A connection of its own, checked with one statement, never in a transaction
        (notifications are delivered between transactions only)."""
        with translated_errors():
            connection = await self._engine.connect()
        try:
            with translated_errors():
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.exec_driver_sql("SELECT 1")
        except BaseException:
            await _throw_away(connection)
            raise
        return connection

    async def wait_for_calls(self, timeout: float) -> None:
        if not await self._ready():
            await asyncio.sleep(timeout)
            return
        if not self._calls.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._calls.wait(), timeout)
        if not self._calls.is_set():
            await self._check()
        self._calls.clear()

    async def wait_for_outcome(self, call_id: int, timeout: float) -> None:
        if not await self._ready():
            await asyncio.sleep(timeout)
            return
        if call_id in self._settled:
            return
        event = self._waiting.setdefault(call_id, asyncio.Event())
        try:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)
        finally:
            self._waiting.pop(call_id, None)
        if not event.is_set():
            await self._check()

    async def close(self) -> None:
        async with self._mutex:
            await self._drop()

    async def _ready(self) -> bool:
        try:
            await self.listening()
        except DatabaseUnavailable as error:
            log.debug("account calls: not listening (%s); polling", error)
            return False
        return True

    def _heard(self, connection: object, pid: int, channel: str, payload: str) -> None:
        if channel == CALLS_CHANNEL:
            self._calls.set()
            return
        with contextlib.suppress(ValueError):
            call_id = int(payload)
            self._settled[call_id] = None
            while len(self._settled) > _REMEMBERED:
                self._settled.popitem(last=False)
            event = self._waiting.get(call_id)
            if event is not None:
                event.set()

    def _lost(self, connection: object) -> None:
        log.info("account calls: the listening connection closed; the next wait reconnects")

    async def _check(self) -> None:
        """After a wait nobody interrupted: make sure the connection still listens (at most
        every PING_EVERY seconds); one that does not answer is dropped."""
        async with self._mutex:
            if self._driver is None or time.monotonic() - self._checked_at < PING_EVERY:
                return
            self._checked_at = time.monotonic()
            try:
                await asyncio.wait_for(self._driver.fetchval("SELECT 1"), PING_TIMEOUT)
            except Exception as error:  # a timeout, a closed connection, the driver's errors
                log.info("account calls: the listening connection is gone (%r)", error)
                await self._drop()

    async def _drop(self) -> None:
        connection, self._connection, self._driver = self._connection, None, None
        if connection is not None:
            await _throw_away(connection)


def _invalidated(error: DatabaseUnavailable) -> bool:
    cause = error.__cause__
    return isinstance(cause, DBAPIError) and bool(cause.connection_invalidated)


async def _throw_away(connection: AsyncConnection) -> None:
    """Close a listening connection for real: back in the pool it would go on listening."""
    with contextlib.suppress(Exception):
        await connection.invalidate()
    with contextlib.suppress(Exception):
        await connection.close()
