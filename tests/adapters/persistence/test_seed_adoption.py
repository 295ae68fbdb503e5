"""`salesbot migrate` on the seed bot's own PostgreSQL database adopts its rows.

Each test gets a fresh database holding the seed's three hand-made tables (no
alembic_version, no foreign keys, session strings in clear, naive timestamps).
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text

from salesbot.adapters.persistence import (
    FernetSessionCipher,
    create_engine,
    is_migrated,
    run_migrations,
    sql_uow_factory,
)
from salesbot.adapters.persistence.migrations import NotASeedDatabase, SeedNotAdopted
from salesbot.adapters.persistence.queries import SqlStatsQuery
from salesbot.application.admin.queries import AccountStats
from salesbot.domain.account import Account, AccountStatus
from salesbot.domain.dialog import DialogStatus
from salesbot.domain.message import Delivery, Direction, OutKind
from salesbot.entrypoints.commands import migrate
from tests.adapters.persistence.test_migrate_command import salesbot
from tests.conftest import pg_admin, pg_url, throwaway_database, unique_database_name
from tests.secrets import SECOND_SESSION_STRING, SESSION_SECRET, SESSION_STRING

UTC = timezone.utc

SEED_SCHEMA = """
CREATE TABLE accounts (id bigserial PRIMARY KEY, phone text, session_string text,
    status text, last_used timestamp, daily_messages int);
CREATE TABLE dialogs (id serial PRIMARY KEY, account_id int, target_username text,
    status text, created_at timestamp);
CREATE TABLE messages (id bigserial PRIMARY KEY, dialog_id int, direction text,
    content text, timestamp timestamp);
"""
SEED_ROWS = """
INSERT INTO accounts VALUES
    (1, '+7 900 123-45-67', '{first}', 'active', '2026-11-26 10:00:00', 5),
    (2, '79001234567', '{second}', 'disabled', NULL, 0),
    (5, '+49 151 12345678', '{second}', 'frozen', NULL, NULL),
    (6, '+1 555 000 2222', '{second}', 'limited', '2026-11-26 11:00:00', 3);
INSERT INTO dialogs VALUES
    (1, 1, '@Alice_Buyer', 'active', '2026-11-20 09:00:00'),
    (2, 5, 'https://t.me/alice_buyer', 'active', '2026-11-21 09:00:00'),
    (3, 1, 'bob_prospect', 'finished', '2026-11-19 08:00:00'),
    (7, 1, 'carol_lead', 'snoozed', '2026-11-22 12:00:00');
INSERT INTO messages VALUES
    (10, 1, 'out', 'Hello Alice', '2026-11-20 09:00:05'),
    (12, 1, 'out', 'How is the project going?', '2026-11-20 09:10:00'),
    (11, 1, 'in', 'Hi! Who is this?', '2026-11-20 09:05:00'),
    (13, 2, 'out', 'Hi again', '2026-11-21 09:00:00'),
    (14, 3, 'out', 'Hello Bob', '2026-11-19 08:00:00'),
    (15, 3, 'in', 'Not interested', '2026-11-19 08:30:00');
"""


async def _run_sql(database: str, sql: str) -> None:
    connection = await asyncpg.connect(pg_url(database))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _snapshot(database: str) -> dict[str, list[tuple]]:
    """Every row of every table in the public schema, and the schemas: what "changes
    nothing" compares."""
    connection = await asyncpg.connect(pg_url(database))
    try:
        tables = [
            r["tablename"]
            for r in await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        snapshot = {
            table: [tuple(r) for r in await connection.fetch(f'SELECT * FROM "{table}" ORDER BY 1')]
            for table in tables
        }
        snapshot["<schemas>"] = [
            tuple(r) for r in await connection.fetch("SELECT nspname FROM pg_namespace ORDER BY 1")
        ]
        return snapshot
    finally:
        await connection.close()


@pytest.fixture
def seed_database():
    with throwaway_database("seed") as name:
        asyncio.run(
            _run_sql(
                name,
                SEED_SCHEMA + SEED_ROWS.format(first=SESSION_STRING, second=SECOND_SESSION_STRING),
            )
        )
        yield name


def _cipher() -> FernetSessionCipher:
    return FernetSessionCipher(SESSION_SECRET)


def _migrate_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str) -> int:
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SESSION_SECRET", SESSION_SECRET)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    return migrate.main(argparse.Namespace(env_file=str(tmp_path / "absent.env"), check=False))


async def test_migrate_adopts_the_seeds_rows(seed_database, tmp_path, monkeypatch, capsys):
    url = pg_url(seed_database)
    assert _migrate_command(tmp_path, monkeypatch, url) == 0
    said = capsys.readouterr().out
    assert said.count("\n") == 1
    assert "Adopted the seed bot's database: 4 accounts, 4 dialogs, 6 messages" in said
    assert "account #6 is limited: its cool-down ends" in said
    assert "account #5 status 'frozen' unknown -> disabled" in said
    assert "account #2 has the phone of account #1" in said
    assert "dialog #7 status 'snoozed' unknown -> stopped" in said
    assert "dialog #1 stopped: dialog #2 with alice_buyer stays open" in said
    assert SESSION_STRING not in said
    assert is_migrated(url)

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            stored = (
                await connection.execute(text("SELECT session_string FROM accounts ORDER BY id"))
            ).scalars()
            assert all(value.startswith("gAAAAA") for value in stored)
            schemas = (await connection.execute(text("SELECT nspname FROM pg_namespace"))).scalars()
            assert "salesbot_seed_adoption" not in list(schemas)

        async with sql_uow_factory(engine, _cipher())() as uow:
            first = await uow.accounts.get(1)
            assert first.phone == "+79001234567"
            assert first.session_string == SESSION_STRING
            assert first.status is AccountStatus.ACTIVE
            assert first.last_used == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
            assert first.daily_messages == 5
            duplicate = await uow.accounts.get(2)
            assert duplicate.phone != first.phone and duplicate.phone.startswith("+79001234567")
            assert duplicate.status is AccountStatus.DISABLED
            unknown = await uow.accounts.get(5)
            assert unknown.phone == "+4915112345678"
            assert unknown.session_string == SECOND_SESSION_STRING
            assert unknown.status is AccountStatus.DISABLED
            limited = await uow.accounts.get(6)
            assert limited.status is AccountStatus.LIMITED
            assert limited.limited_until is not None, "else its cool-down is never lifted"
            cool_down = limited.limited_until - datetime.now(UTC)
            assert timedelta(hours=23) < cool_down <= timedelta(hours=24)

            older, newer = await uow.dialogs.get(1), await uow.dialogs.get(2)
            assert older.target_username == newer.target_username == "alice_buyer"
            assert newer.status is DialogStatus.ACTIVE
            assert older.status is DialogStatus.STOPPED
            assert (await uow.dialogs.find_open_by_username("alice_buyer")).id == 2
            assert (await uow.dialogs.get(3)).status is DialogStatus.FINISHED
            assert (await uow.dialogs.get(7)).status is DialogStatus.STOPPED
            assert older.created_at == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
            assert older.last_activity_at == datetime(2026, 11, 20, 9, 10, tzinfo=UTC)

            history = await uow.messages.list_for_dialog(1)
            assert [m.id for m in history] == [10, 11, 12]
            assert [m.direction for m in history] == [Direction.OUT, Direction.IN, Direction.OUT]
            assert [m.delivery for m in history] == [Delivery.SENT, None, Delivery.SENT]
            assert [m.kind for m in history] == [OutKind.OPENER, None, OutKind.REPLY]
            assert history[0].sent_at == datetime(2026, 11, 20, 9, 0, 5, tzinfo=UTC)
            assert all(m.account_id == 1 for m in history)
            assert (await uow.messages.get(13)).account_id == 5

            # /stats of all time counts the adopted messages (sent: the outgoing ones; the
            # first of each dialog opened it).
            assert await SqlStatsQuery(engine).per_account() == [
                AccountStats(1, first.phone, 2, 3, 2, 2, 0, 0),
                AccountStats(2, duplicate.phone, 0, 0, 0, 0, 0, 0),
                AccountStats(5, unknown.phone, 1, 1, 0, 0, 0, 0),
                AccountStats(6, limited.phone, 0, 0, 0, 0, 0, 0),
            ]

            # The sequences continue after the adopted ids.
            added = await uow.accounts.add(Account(phone="+15550001111", session_string="s"))
            assert added.id == 7
            await uow.rollback()
    finally:
        await engine.dispose()

    before = await _snapshot(seed_database)
    assert _migrate_command(tmp_path, monkeypatch, url) == 0
    assert "already has the newest schema" in capsys.readouterr().out
    assert await _snapshot(seed_database) == before


async def test_migrate_as_a_process_adopts_and_a_second_run_changes_nothing(
    seed_database, tmp_path
):
    url = pg_url(seed_database)
    env = {"DATABASE_URL": url, "SESSION_SECRET": SESSION_SECRET, "DATA_DIR": str(tmp_path)}
    done = salesbot(tmp_path, "migrate", **env)
    assert done.returncode == 0, done.stderr
    assert "Adopted the seed bot's database: 4 accounts, 4 dialogs, 6 messages" in done.stdout
    engine = create_engine(url)
    try:
        async with sql_uow_factory(engine, _cipher())() as uow:
            assert (await uow.accounts.get(1)).session_string == SESSION_STRING
            assert len(await uow.messages.list_for_dialog(3)) == 2
    finally:
        await engine.dispose()

    before = await _snapshot(seed_database)
    again = salesbot(tmp_path, "migrate", **env)
    assert again.returncode == 0, again.stderr
    assert "already has the newest schema" in again.stdout
    assert await _snapshot(seed_database) == before


@pytest.fixture
def foreign_database():
    """Someone else's tables named accounts/dialogs/messages."""
    name = unique_database_name("foreign")
    asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        asyncio.run(
            _run_sql(
                name,
                "CREATE TABLE accounts (id serial PRIMARY KEY, email text, password_hash text);"
                "INSERT INTO accounts (email, password_hash) VALUES ('a@example.com', 'x');"
                "CREATE TABLE invoices (id serial PRIMARY KEY, total numeric);",
            )
        )
        yield name
    finally:
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def test_unrelated_tables_named_accounts_are_refused_and_left_untouched(
    foreign_database, tmp_path, monkeypatch, capsys
):
    url = pg_url(foreign_database)
    before = await _snapshot(foreign_database)
    with pytest.raises(NotASeedDatabase, match="accounts has unknown columns email"):
        run_migrations(url, cipher_factory=_cipher)
    assert await _snapshot(foreign_database) == before

    assert _migrate_command(tmp_path, monkeypatch, url) == 1
    said = capsys.readouterr().err
    assert "neither the seed bot's nor salesbot's" in said
    assert "nothing was changed" in said
    assert await _snapshot(foreign_database) == before


async def test_rows_that_cannot_be_placed_refuse_the_adoption(seed_database):
    await _run_sql(seed_database, "INSERT INTO dialogs VALUES (9, 42, 'dave_lead', 'active', NULL)")
    before = await _snapshot(seed_database)
    with pytest.raises(NotASeedDatabase, match="dialogs #9 belong to no account"):
        run_migrations(pg_url(seed_database), cipher_factory=_cipher)
    assert await _snapshot(seed_database) == before


async def test_without_a_cipher_the_seeds_database_is_not_touched(seed_database):
    before = await _snapshot(seed_database)
    with pytest.raises(SeedNotAdopted, match="salesbot migrate"):
        run_migrations(pg_url(seed_database))
    assert await _snapshot(seed_database) == before


async def test_a_view_on_the_seeds_tables_stops_the_adoption_instead_of_vanishing(seed_database):
    await _run_sql(seed_database, "CREATE VIEW busy AS SELECT phone FROM accounts")
    before = await _snapshot(seed_database)
    with pytest.raises(Exception, match="depend"):
        run_migrations(pg_url(seed_database), cipher_factory=_cipher)
    assert await _snapshot(seed_database) == before
