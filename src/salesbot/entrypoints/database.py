"""Which PostgreSQL salesbot uses: DATABASE_URL's, or a server of its own in DATA_DIR.

With DATABASE_URL unset, every command that needs the database (`run`, `migrate`,
`account`, `rehearse`) starts the embedded server (or joins the one already running in
DATA_DIR) for as long as it runs; a first try needs no database setup.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from salesbot.entrypoints.settings import Settings


class DatabaseNotStarted(RuntimeError):
    """The embedded server could not be started; the message is one line."""


def describe_database(settings: Settings) -> str:
    """Where the data lives, without the password."""
    if settings.DATABASE_URL is None:
        return f"embedded PostgreSQL in {settings.DATA_DIR}"
    from sqlalchemy.engine import make_url

    url = make_url(settings.DATABASE_URL.get_secret_value())
    where = f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"
    return f"PostgreSQL {where}"


def _start_embedded(folder: Path) -> Any:
    from salesbot.adapters.persistence.embedded import (
        EmbeddedPostgresError,
        start_embedded_postgres,
    )

    try:
        return start_embedded_postgres(folder)
    except EmbeddedPostgresError as error:
        raise DatabaseNotStarted(str(error)) from None


@contextlib.contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """The database's URL while the block runs; DatabaseNotStarted when the embedded server
    cannot be started."""
    if settings.DATABASE_URL is not None:
        yield settings.DATABASE_URL.get_secret_value()
        return
    server = _start_embedded(settings.DATA_DIR)
    try:
        yield server.url
    finally:
        server.stop()


def has_database(settings: Settings) -> bool:
    """Whether there is an operator's database to look at (DATABASE_URL, or an embedded
    server that was set up in DATA_DIR already): looking creates nothing."""
    from salesbot.adapters.persistence.embedded import cluster_exists

    return settings.DATABASE_URL is not None or cluster_exists(settings.DATA_DIR)


@contextlib.contextmanager
def throwaway_database() -> Iterator[str]:
    """A migrated database on an embedded server of its own, in a temporary folder that is
    removed on the way out: for what must never touch the operator's data (a rehearsal)."""
    from salesbot.adapters.persistence.migrations import run_migrations

    with tempfile.TemporaryDirectory(prefix="salesbot-throwaway-") as folder:
        server = _start_embedded(Path(folder))
        try:
            run_migrations(server.url)
            yield server.url
        finally:
            server.stop()


@contextlib.asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[str]:
    """`database_url` from a coroutine: starting the embedded server (about a second the
    first time) does not hold the event loop up."""
    async with _in_a_thread(database_url(settings)) as url:
        yield url


@contextlib.asynccontextmanager
async def open_throwaway_database() -> AsyncIterator[str]:
    """`throwaway_database` from a coroutine."""
    async with _in_a_thread(throwaway_database()) as url:
        yield url


@contextlib.asynccontextmanager
async def _in_a_thread(manager: contextlib.AbstractContextManager[str]) -> AsyncIterator[str]:
    url = await asyncio.to_thread(manager.__enter__)
    try:
        yield url
    finally:
        await asyncio.to_thread(manager.__exit__, None, None, None)
