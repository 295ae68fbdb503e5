"""AccountLocks: one process owns a Telegram session at a time.

Two clients running one session string make Telegram revoke it, so an account is started
only by the process holding its lock. On PostgreSQL that is a session-level advisory lock
held on a dedicated connection: it lasts exactly as long as that connection, so a crashed
process releases its accounts by itself.

The same connection holds a *presence* lock (PROCESS_NAMESPACE, a random key per
process): `census()` counts those to know how many processes share the accounts, and
reads which accounts are locked, straight from pg_locks. No heartbeat table to go stale:
a process that dies leaves the census when its connection closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Collection
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import TextClause

from salesbot.adapters.persistence.transaction import translated_errors
from salesbot.application.errors import DatabaseUnavailable
from salesbot.application.ports import Census

log = logging.getLogger(__name__)

# The first key of the two-key advisory lock keeps ours apart from other users of
# advisory locks in the same database (the bytes of "sbot").
LOCK_NAMESPACE = 0x73626F74
PROCESS_NAMESPACE = 0x73627072
"""The presence locks' namespace (the bytes of "sbpr"): one lock per live process."""
_INT4_MAX = 2**31 - 1

_TRY_LOCK = text("SELECT pg_try_advisory_lock(:namespace, :account_id)")
_UNLOCK = text("SELECT pg_advisory_unlock(:namespace, :account_id)")
_UNLOCK_ALL = text("SELECT pg_advisory_unlock_all()")
_PING = text("SELECT true")
_CENSUS = text(
    """
    SELECT classid::bigint AS namespace, objid::bigint AS key
    FROM pg_locks
    WHERE locktype = 'advisory' AND objsubid = 2 AND granted
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND classid::bigint IN (:process_namespace, :account_namespace)
    """
)


def _key(account_id: int) -> dict[str, int]:
    if not 0 < account_id <= _INT4_MAX:
        raise ValueError(f"account id {account_id} does not fit an advisory lock key")
    return {"namespace": LOCK_NAMESPACE, "account_id": account_id}


class PgAccountLocks:
    """Implements AccountLocks across processes with PostgreSQL advisory locks.

    The owner is the process: acquiring a lock it holds already succeeds (without
    stacking a second one, so one `release` frees it). If the dedicated connection dies
    (a server restart), its locks went with it: the next call reconnects and takes back
    the locks held before, logging an error for any that another process took meanwhile.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None
        self._held: set[int] = set()
        self._mutex = asyncio.Lock()
        self.presence_key: int | None = None
        """This process's presence lock key while its lock connection is open."""

    async def _connect(self) -> AsyncConnection:
        if self._connection is not None:
            return self._connection
        with translated_errors():
            connection = await self._engine.connect()
        try:
            with translated_errors():
                # Autocommit: the connection never sits "idle in transaction" for hours.
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                self.presence_key = await _take_presence(connection)
                lost = set()
                for account_id in sorted(self._held):
                    result = await connection.execute(_TRY_LOCK, _key(account_id))
                    if not result.scalar_one():
                        lost.add(account_id)
        except BaseException:
            with contextlib.suppress(Exception):
                await connection.invalidate()
                await connection.close()
            raise
        self._connection = connection
        for account_id in lost:
            log.error(
                "account %s: its lock was lost with the database connection and another "
                "process holds it now",
                account_id,
            )
        self._held -= lost
        return connection

    async def _drop_connection(self, *, unlock: bool = False) -> None:
        """Close the lock connection for real: back in the pool, a connection would keep
        its session's locks and lend them to whoever used it next."""
        connection, self._connection = self._connection, None
        self.presence_key = None
        if connection is None:
            return
        try:
            if unlock:
                await connection.execute(_UNLOCK_ALL)
            await connection.invalidate()
            await connection.close()
        except (DBAPIError, OSError):
            log.debug("closing the lock connection failed", exc_info=True)

    async def _ask(self, statement: TextClause, params: dict[str, Any]) -> bool:
        """Run a one-value query on the lock connection, reconnecting once if it died."""
        rows = await self._rows(statement, params)
        return bool(rows[0][0])

    async def _rows(self, statement: TextClause, params: dict[str, Any]) -> list[Any]:
        """Run a query on the lock connection, reconnecting once if it died. A query cut
        short (a timeout cancelling it) leaves the connection in an unknown state: it is
        dropped, and the next call reconnects and takes the locks back."""
        for attempt in (1, 2):
            connection = await self._connect()
            try:
                with translated_errors():
                    return list((await connection.execute(statement, params)).all())
            except DatabaseUnavailable:
                await self._drop_connection()
                if attempt == 2:
                    raise
            except BaseException:
                with contextlib.suppress(Exception):
                    await self._drop_connection()
                raise
        raise AssertionError("unreachable")

    async def try_acquire(self, account_id: int) -> bool:
        key = _key(account_id)
        async with self._mutex:
            if account_id in self._held:
                # Make sure the connection (and with it the lock) is still there.
                await self._ask(_PING, {})
                return account_id in self._held
            acquired = await self._ask(_TRY_LOCK, key)
            if acquired:
                self._held.add(account_id)
            return acquired

    async def still_held(self, account_ids: Collection[int]) -> set[int]:
        async with self._mutex:
            if not self._held.intersection(account_ids):
                return set()
            # One ping: a dead connection is replaced and its locks are taken back; those
            # another process took meanwhile leave `_held`.
            await self._ask(_PING, {})
            return self._held.intersection(account_ids)

    async def release(self, account_id: int) -> None:
        key = _key(account_id)
        async with self._mutex:
            if account_id not in self._held:
                return
            self._held.discard(account_id)
            if self._connection is not None:
                try:
                    await self._ask(_UNLOCK, key)
                except DatabaseUnavailable:
                    log.warning("account %s: lock released with its dead connection", account_id)

    async def census(self) -> Census:
        async with self._mutex:
            rows = await self._rows(
                _CENSUS,
                {"process_namespace": PROCESS_NAMESPACE, "account_namespace": LOCK_NAMESPACE},
            )
        processes = {key for namespace, key in rows if namespace == PROCESS_NAMESPACE}
        held = frozenset(key for namespace, key in rows if namespace == LOCK_NAMESPACE)
        return Census(processes=len(processes), held=held)

    async def close(self) -> None:
        """Release every lock: closing the connection does it."""
        async with self._mutex:
            self._held.clear()
            await self._drop_connection(unlock=True)


async def _take_presence(connection: AsyncConnection) -> int:
    """A random presence key no other live process holds (a clash is retried)."""
    while True:
        key = secrets.randbelow(_INT4_MAX) + 1
        taken = await connection.execute(
            _TRY_LOCK, {"namespace": PROCESS_NAMESPACE, "account_id": key}
        )
        if taken.scalar_one():
            return key
