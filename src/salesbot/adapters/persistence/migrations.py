"""Schema migrations from inside salesbot: `salesbot migrate`, start-up checks, tests.

alembic's env.py runs the async engine with `asyncio.run`, which cannot nest in a running
event loop; called from one (a test, `salesbot run`), the work moves to a helper thread
with its own loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from salesbot.adapters.persistence.engine import async_url, ensure_sqlite_directory, sqlite_file

T = TypeVar("T")

# src/salesbot/adapters/persistence/migrations.py -> the project root holding alembic.ini
PROJECT_ROOT = Path(__file__).resolve().parents[4]


def alembic_config(url: str | None = None, ini: Path | None = None) -> Config:
    """alembic's configuration for `url` (DATABASE_URL's database when None)."""
    ini = ini or PROJECT_ROOT / "alembic.ini"
    if not ini.is_file():
        raise FileNotFoundError(
            f"{ini} is missing: salesbot migrates from its source tree (alembic.ini and "
            "alembic/ beside src/)"
        )
    config = Config(str(ini))
    config.attributes["configure_logger"] = False
    if url is not None:
        config.attributes["url"] = async_url(url).render_as_string(hide_password=False)
    return config


def _outside_event_loop(work: Callable[[], T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="migrate") as executor:
        return executor.submit(work).result()


def run_migrations(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (alembic upgrade), creating a SQLite
    database's folder first."""
    ensure_sqlite_directory(url)
    config = alembic_config(url)
    _outside_event_loop(lambda: command.upgrade(config, revision))


def downgrade(url: str, revision: str) -> None:
    config = alembic_config(url)
    _outside_event_loop(lambda: command.downgrade(config, revision))


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(url: str) -> str | None:
    """The revision the database at `url` is at (None: never migrated)."""
    database_file = sqlite_file(async_url(url))
    if database_file is not None and not database_file.exists():
        return None

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async def ask() -> str | None:
        engine = create_async_engine(async_url(url), poolclass=pool.NullPool)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(read)
        finally:
            await engine.dispose()

    return _outside_event_loop(lambda: asyncio.run(ask()))


def is_migrated(url: str) -> bool:
    """Whether the database at `url` has the newest schema."""
    return current_revision(url) == head_revision()
