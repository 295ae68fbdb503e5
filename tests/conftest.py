"""Fixtures every test may use: the real databases.

- `database_url`: a fresh PostgreSQL database for the whole test session, on the test
  server (`database_server`: TEST_DATABASE_URL, else 127.0.0.1:5432, else an embedded one),
  named `salesbot_test_<pid>_<random>` so parallel runs never meet, migrated with alembic
  and dropped at the end, also when tests fail or the run is interrupted.
- `engine`: an AsyncEngine on it for one test, with every table emptied first;
  `migrated_url`: its URL, for a test that runs salesbot itself on it.
- `empty_pg_url`: a database of the test's own with no tables (migrations, adoption).
- `session_cipher`, `uow_factory`: the SQL unit of work on `engine`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import secrets
import socket
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
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

LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
EMBEDDED_FOLDER = Path(tempfile.gettempdir()) / f"salesbot-tests-postgres-{os.getuid()}"


@functools.cache
def database_server() -> str:
    """The URL of a database on the PostgreSQL server the tests use, whose role may create
    databases: TEST_DATABASE_URL, else the machine's own server (127.0.0.1:5432, user
    postgres, trust auth), else an embedded server of the tests' own in the temp folder.
    The session stops with one clear line when there is none."""
    configured = os.environ.get("TEST_DATABASE_URL", "").strip()
    if configured:
        return configured
    if _listening("127.0.0.1", 5432):
        return LOCAL_SERVER
    from salesbot.adapters.persistence.embedded import (
        EmbeddedPostgresError,
        embedded_test_server,
    )

    try:
        return embedded_test_server(EMBEDDED_FOLDER)
    except EmbeddedPostgresError as error:
        pytest.exit(
            "The tests need PostgreSQL: set TEST_DATABASE_URL (a role that may create "
            f"databases), run one on 127.0.0.1:5432, or fix the embedded one: {error}",
            returncode=3,
        )


def _listening(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        return False
    return True


def pg_url(database: str) -> str:
    """The test server's URL for `database` (the form of the seed's DATABASE_URL)."""
    return make_url(database_server()).set(database=database).render_as_string(hide_password=False)


async def pg_admin(*statements: str) -> None:
    """Run statements on the server's maintenance database (CREATE/DROP DATABASE)."""
    connection = await asyncpg.connect(database_server())
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


def _exit_unless_the_server_answers() -> None:
    """One clear line, not an error per test, when the server the tests use does not answer
    or refuses to create a database."""
    server = database_server()
    try:
        with throwaway_database("probe"):
            pass
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        shown = make_url(server).render_as_string(hide_password=True)
        pytest.exit(
            f"The tests need PostgreSQL: {shown} could not create a database "
            f"({type(error).__name__}: {error}). Set TEST_DATABASE_URL to a role that may "
            "create databases, run one on 127.0.0.1:5432, or set neither to use an embedded one.",
            returncode=3,
        )


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    _exit_unless_the_server_answers()
    with throwaway_database() as name:
        url = pg_url(name)
        run_migrations(url)
        yield url


async def _empty_all_tables(engine: AsyncEngine) -> None:
    """Every table emptied, its ids starting at 1 again."""
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY"))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    try:
        await _empty_all_tables(engine)
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def migrated_url(engine: AsyncEngine, database_url: str) -> str:
    """The session database's URL, its tables emptied for this test."""
    return database_url


@pytest.fixture
def empty_pg_url() -> Iterator[str]:
    """A new database of this test's own, with no tables at all."""
    with throwaway_database("empty") as name:
        yield pg_url(name)


@pytest.fixture(scope="session")
def session_cipher() -> FernetSessionCipher:
    return FernetSessionCipher(SESSION_SECRET)


@pytest.fixture
def uow_factory(
    engine: AsyncEngine, session_cipher: FernetSessionCipher
) -> Callable[[], SqlUnitOfWork]:
    return sql_uow_factory(engine, session_cipher)


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Every async test runs on the loop `salesbot run` runs on (uvloop)."""
    return {"uvloop": event_loop.new_event_loop}
