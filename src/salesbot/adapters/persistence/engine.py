"""The async engine: PostgreSQL through asyncpg in production, SQLite through aiosqlite for
trying salesbot out without a server.

PostgreSQL: a bounded pool with pre-ping, so connections a server restart killed are
replaced on checkout instead of failing the next request. SQLAlchemy's asyncpg ping costs
three round trips (BEGIN, `;`, ROLLBACK) on every checkout, as much as a small unit of work
itself; `_LazyPing` keeps pre-ping's promise cheaper: a connection the driver already knows
is closed is replaced without a round trip, and only one idle for a while is pinged.

SQLite: WAL, foreign keys on, and every transaction `BEGIN IMMEDIATE`, so concurrent units
of work queue for the one writer (up to a 30 s busy timeout) instead of failing with
"database is locked" when a reading transaction tries to write. A file never disconnects:
no pre-ping.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SQLITE_BUSY_TIMEOUT_S = 30
_ASYNC_DRIVERS = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}


def async_url(url: str | URL) -> URL:
    """`url` with the async driver salesbot uses for its database (`postgresql://` and
    `postgres://` get asyncpg, `sqlite://` gets aiosqlite)."""
    parsed = make_url(url)
    backend = parsed.drivername.split("+", 1)[0]
    if backend not in _ASYNC_DRIVERS:
        raise ValueError(f"unsupported database {parsed.drivername!r}: use PostgreSQL or SQLite")
    return parsed.set(drivername=_ASYNC_DRIVERS[backend])


def sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL (None for other databases and `:memory:`)."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def ensure_sqlite_directory(url: str | URL) -> None:
    """Create the folder of a SQLite database file (DATA_DIR on a first run), owner-only."""
    path = sqlite_file(make_url(url))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)


def create_engine(
    url: str | URL,
    *,
    pool_size: int = 10,
    max_overflow: int = 5,
    ping_after_idle: float = 5.0,
) -> AsyncEngine:
    """The engine for `url`; on PostgreSQL a pooled connection idle for `ping_after_idle`
    seconds is pinged before use (0: every checkout is pinged)."""
    parsed = async_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    engine = create_async_engine(
        parsed,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=30,
        pool_recycle=3600,
        connect_args={
            "server_settings": {"application_name": "salesbot"},
            "timeout": 10,
            "command_timeout": 60,
        },
    )
    _LazyPing(ping_after_idle).install(engine)
    return engine


class _LazyPing:
    """The pool's pre-ping, with a round trip only for connections idle a while."""

    def __init__(self, idle_seconds: float) -> None:
        self._idle_seconds = idle_seconds
        self._returned_at: dict[int, float] = {}  # by id() of the driver's connection
        self._full_ping: Any = None

    def install(self, engine: AsyncEngine) -> None:
        dialect = engine.sync_engine.dialect
        self._full_ping = dialect.do_ping
        dialect.do_ping = self  # type: ignore[method-assign]
        pool = engine.sync_engine.pool
        event.listen(pool, "checkin", self._checked_in)
        for gone in ("close", "close_detached", "invalidate", "soft_invalidate"):
            event.listen(pool, gone, self._forget)

    def _checked_in(self, dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection is not None:
            self._returned_at[id(dbapi_connection)] = time.monotonic()

    def _forget(self, dbapi_connection: Any, *_args: Any) -> None:
        self._returned_at.pop(id(dbapi_connection), None)

    def __call__(self, dbapi_connection: Any) -> bool:
        driver_connection = getattr(dbapi_connection, "_connection", None)
        if driver_connection is not None and driver_connection.is_closed():
            return False  # the pool replaces it
        returned_at = self._returned_at.get(id(dbapi_connection))
        if returned_at is not None and time.monotonic() - returned_at < self._idle_seconds:
            return True
        return bool(self._full_ping(dbapi_connection))


def _sqlite_engine(url: URL) -> AsyncEngine:
    ensure_sqlite_directory(url)
    engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    @event.listens_for(engine.sync_engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Leave transaction control to SQLAlchemy's "begin" below, not the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            f"busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
