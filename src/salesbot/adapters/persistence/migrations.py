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
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from salesbot.adapters.persistence.engine import async_url
from salesbot.adapters.persistence.seed_adoption import (
    AdoptionReport,
    NotASeedDatabase,
    adopt_seed_database,
    detect_seed,
)
from salesbot.application.ports import SessionCipher

T = TypeVar("T")

__all__ = [
    "AdoptionReport",
    "NotASeedDatabase",
    "SeedNotAdopted",
    "alembic_config",
    "current_revision",
    "downgrade",
    "head_revision",
    "is_migrated",
    "pending_revisions",
    "run_migrations",
]

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


def run_migrations(
    url: str,
    revision: str = "head",
    *,
    cipher_factory: Callable[[], SessionCipher] | None = None,
    on_revision: Callable[[], None] | None = None,
) -> AdoptionReport | None:
    """Bring the database at `url` to `revision` (alembic upgrade).

    A database the seed bot created (its tables, no alembic_version) is adopted instead, in
    one transaction, when `cipher_factory` gives the cipher for its session strings: the
    report says what was moved. Without one, it raises SeedNotAdopted; tables that are
    neither the seed's nor ours raise NotASeedDatabase. Both change nothing.
    """
    config = alembic_config(url)
    if on_revision is not None:  # each revision applied, also while adopting the seed's

        def applied(**_: Any) -> None:
            on_revision()

        config.attributes["on_version_apply"] = applied
    if revision == "head":
        report = _outside_event_loop(lambda: asyncio.run(_adopt(url, config, cipher_factory)))
        if report is not None:
            return report
    _outside_event_loop(lambda: command.upgrade(config, revision))
    return None


class SeedNotAdopted(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "the database holds the seed bot's tables: run `salesbot migrate` to adopt them"
        )


async def _adopt(
    url: str, config: Config, cipher_factory: Callable[[], SessionCipher] | None
) -> AdoptionReport | None:
    engine = create_async_engine(async_url(url), poolclass=pool.NullPool)
    try:
        async with engine.begin() as connection:
            if await detect_seed(connection) is None:
                return None
            if cipher_factory is None:
                raise SeedNotAdopted()
            return await adopt_seed_database(connection, config, cipher_factory)
    finally:
        await engine.dispose()


def downgrade(url: str, revision: str) -> None:
    config = alembic_config(url)
    _outside_event_loop(lambda: command.downgrade(config, revision))


def pending_revisions(url: str) -> int:
    """How many revisions `run_migrations(url)` would apply (the progress bar's total)."""
    script = ScriptDirectory.from_config(alembic_config())
    return len(list(script.iterate_revisions("head", current_revision(url) or "base")))


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(url: str) -> str | None:
    """The revision the database at `url` is at (None: never migrated)."""
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
