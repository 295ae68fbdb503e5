"""Fixtures every test may use: the real databases.

- `database_url`: a fresh PostgreSQL database for the whole test session, on the machine's
  server (127.0.0.1:5432, user postgres, trust auth), named `salesbot_test_<pid>_<random>`
  so parallel runs never meet, migrated with alembic and dropped at the end, also when
  tests fail or the run is interrupted.
- `engine`: an AsyncEngine on it for one test, with every table emptied first.
- `session_cipher`, `uow_factory`: the SQL unit of work on `engine`.
- `sqlite_url`: a migrated SQLite file of the test's own; `sqlite_engine`,
  `sqlite_uow_factory` on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from salesbot.adapters.persistence import (
    FernetSessionCipher,
    SqlUnitOfWork,
    create_engine,
    run_migrations,
    sql_uow_factory,
)
from salesbot.adapters.persistence.models import Base
from salesbot.entrypoints import event_loop
from tests.secrets import SESSION_SECRET

pytest_plugins = ("tests.log_leak_guard",)

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"


def pg_url(database: str) -> str:
    """The test server's URL for `database` (the form of the seed's DATABASE_URL)."""
    return f"{PG_SERVER}/{database}"


async def pg_admin(*statements: str) -> None:
    """Run statements on the server's maintenance database (CREATE/DROP DATABASE)."""
    connection = await asyncpg.connect(pg_url("postgres"))
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def unique_database_name(label: str = "test") -> str:
    return f"salesbot_{label}_{os.getpid()}_{secrets.token_hex(4)}"


@contextlib.contextmanager
def throwaway_database(label: str = "test") -> Iterator[str]:
    """A new empty database's name, dropped on the way out (also when the test fails)."""
    name = unique_database_name(label)
    asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield name
    finally:
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with throwaway_database() as name:
        url = pg_url(name)
        run_migrations(url)
        yield url


async def _empty_all_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(delete(table))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    try:
        await _empty_all_tables(engine)
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def session_cipher() -> FernetSessionCipher:
    return FernetSessionCipher(SESSION_SECRET)


@pytest.fixture
def uow_factory(
    engine: AsyncEngine, session_cipher: FernetSessionCipher
) -> Callable[[], SqlUnitOfWork]:
    return sql_uow_factory(engine, session_cipher)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per session; each test gets a copy (migrating is slower)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "salesbot.sqlite3"
    run_migrations(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(_sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "salesbot.sqlite3"
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def sqlite_engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sqlite_uow_factory(
    sqlite_engine: AsyncEngine, session_cipher: FernetSessionCipher
) -> Callable[[], SqlUnitOfWork]:
    return sql_uow_factory(sqlite_engine, session_cipher)


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Every async test runs on the loop `salesbot run` runs on (uvloop)."""
    return {"uvloop": event_loop.new_event_loop}
