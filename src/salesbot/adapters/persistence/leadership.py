"""Leadership: which process on the database holds the admin bot.

One BOT_TOKEN may have one long poller: a second one makes Telegram answer `409 Conflict`
to one of them, forever. Every process that may hold the bot (`SALESBOT_ROLE=all`) asks
for one session-level advisory lock on a connection of its own; whoever holds it polls.
The lock lasts exactly as long as that connection, so a process that is killed lets it go
by itself: the server closes its session and the next follower's try wins it.

The leader confirms the lock with a ping bounded by `timeout`: a connection that does not
answer in time (the network to the database is gone, the server restarted) counts as the
lock lost, so the leader stops polling before another process can have won the lock —
the server releases it only once that session has ended. The connection asks the server to
probe the client with TCP keepalives, so a leader whose host vanished without closing its
socket does not keep the lock for the operating system's default of two hours.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from salesbot.adapters.persistence.transaction import first_line, translated_errors
from salesbot.application.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

# The first key of the two-key advisory lock: the bytes of "sbel" (salesbot election), apart
# from the accounts' locks (locks.py) and from other users of advisory locks.
ELECTION_NAMESPACE = 0x7362656C
ADMIN_BOT = 1
"""The second key: the one thing elected so far."""
TIMEOUT = 5.0
"""Seconds a try or a confirmation may take before it counts as failed."""

_KEY = {"namespace": ELECTION_NAMESPACE, "key": ADMIN_BOT}
_TRY_LOCK = text("SELECT pg_try_advisory_lock(:namespace, :key)")
_UNLOCK = text("SELECT pg_advisory_unlock(:namespace, :key)")
_HELD = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
    " AND classid::bigint = :namespace AND objid::bigint = :key AND objsubid = 2"
    " AND pid = pg_backend_pid() AND granted)"
)
# Seconds of silence before the server probes this session's client, between probes, and
# probes unanswered before it ends the session (and with it the lock): about 20 s. Ignored
# on a Unix socket, where a vanished client is seen at once.
_KEEPALIVES = (
    "SET tcp_keepalives_idle = 10",
    "SET tcp_keepalives_interval = 5",
    "SET tcp_keepalives_count = 2",
)


class PgLeadership:
    """Implements Leadership with a PostgreSQL advisory lock on a dedicated connection.

    `try_lead` raises DatabaseUnavailable when the database cannot be asked (reconnecting
    once first); `still_leading` never raises: a claim it cannot confirm in time is lost,
    the connection dropped, and the next `try_lead` connects again."""

    def __init__(self, engine: AsyncEngine, *, timeout: float = TIMEOUT) -> None:
        self._engine = engine
        self._timeout = timeout
        self._connection: AsyncConnection | None = None
        self._leading = False
        self._mutex = asyncio.Lock()

    async def try_lead(self) -> bool:
        async with self._mutex:
            if self._leading:
                return await self._confirm()
            for attempt in (1, 2):
                try:
                    self._leading = await self._bounded(self._try_lock())
                    return self._leading
                except DatabaseUnavailable:
                    await self._drop_connection()
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")

    async def still_leading(self) -> bool:
        async with self._mutex:
            return await self._confirm()

    async def resign(self) -> None:
        async with self._mutex:
            if not self._leading:
                return
            self._leading = False
            connection = self._connection
            if connection is None:
                return
            try:
                await self._bounded(self._unlock(connection))
            except DatabaseUnavailable:
                # Ending the session lets the lock go just as well.
                await self._drop_connection()

    async def close(self) -> None:
        """Let the lead go (closing the connection does) and keep no connection; a later
        `try_lead` connects again."""
        async with self._mutex:
            self._leading = False
            await self._drop_connection()

    async def _confirm(self) -> bool:
        if not self._leading:
            return False
        connection = self._connection
        try:
            if connection is None:
                raise DatabaseUnavailable("the election's connection was dropped")
            held = await self._bounded(self._held(connection))
        except (DatabaseUnavailable, DBAPIError) as error:
            log.warning("admin bot: the lead could not be confirmed (%s)", first_line(error))
            held = False
            await self._drop_connection()
        if not held:
            self._leading = False
        return held

    async def _bounded(self, work: Coroutine[Any, Any, bool]) -> bool:
        try:
            return await asyncio.wait_for(work, self._timeout)
        except asyncio.TimeoutError:
            raise DatabaseUnavailable(
                f"the database did not answer within {self._timeout:g} s"
            ) from None

    async def _try_lock(self) -> bool:
        connection = await self._connect()
        with translated_errors():
            return bool((await connection.execute(_TRY_LOCK, _KEY)).scalar_one())

    async def _held(self, connection: AsyncConnection) -> bool:
        with translated_errors():
            return bool((await connection.execute(_HELD, _KEY)).scalar_one())

    async def _unlock(self, connection: AsyncConnection) -> bool:
        with translated_errors():
            return bool((await connection.execute(_UNLOCK, _KEY)).scalar_one())

    async def _connect(self) -> AsyncConnection:
        if self._connection is not None:
            return self._connection
        with translated_errors():
            connection = await self._engine.connect()
        try:
            with translated_errors():
                # Autocommit: the connection never sits "idle in transaction" for hours.
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                for statement in _KEEPALIVES:
                    await connection.execute(text(statement))
        except BaseException:
            with contextlib.suppress(Exception):
                await connection.invalidate()
                await connection.close()
            raise
        self._connection = connection
        return connection

    async def _drop_connection(self) -> None:
        """Close the connection for real: back in the pool, it would keep the session's
        lock and lend it to whoever used it next."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await asyncio.wait_for(self._discard(connection), self._timeout)
        except (DBAPIError, OSError, asyncio.TimeoutError):
            log.debug("closing the election's connection failed", exc_info=True)

    @staticmethod
    async def _discard(connection: AsyncConnection) -> None:
        await connection.invalidate()
        await connection.close()
