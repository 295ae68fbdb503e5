"""`salesbot migrate` as the operator runs it: a real process, the seed's DATABASE_URL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from salesbot.adapters.persistence import is_migrated
from salesbot.adapters.persistence.embedded import start_embedded_postgres

SALESBOT = Path(sys.executable).parent / "salesbot"
SEED_COLUMNS = ["id", "phone", "session_string", "status", "last_used", "daily_messages"]


def salesbot(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update(env)
    empty = cwd / "empty.env"  # no settings but the environment
    empty.write_text("")
    return subprocess.run(
        [str(SALESBOT), "--env-file", str(empty), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_migrate_on_an_empty_database_gives_the_seeds_accounts_table(empty_pg_url, tmp_path):
    done = salesbot(tmp_path, "migrate", DATABASE_URL=empty_pg_url)  # as in the seed's .env
    assert done.returncode == 0, done.stderr
    url = make_url(empty_pg_url)
    assert f"Migrated PostgreSQL {url.host or 'localhost'}:{url.port or 5432}/" in done.stdout

    async def described() -> tuple[list[str], list[str]]:
        connection = await asyncpg.connect(empty_pg_url)
        try:
            columns = await connection.fetch(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'accounts' ORDER BY ordinal_position"
            )
            indexes = await connection.fetch(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'accounts'"
            )
        finally:
            await connection.close()
        return [row[0] for row in columns], [row[0] for row in indexes]

    columns, indexes = asyncio.run(described())
    assert columns[: len(SEED_COLUMNS)] == SEED_COLUMNS
    assert "uq_accounts_phone" in indexes


def test_without_database_url_the_embedded_database_is_created_in_data_dir(tmp_path):
    data_dir = tmp_path / "fresh" / "salesbot-data"
    done = salesbot(tmp_path, "migrate", DATA_DIR=str(data_dir))
    assert done.returncode == 0, done.stderr
    assert f"embedded PostgreSQL in {data_dir}" in done.stdout
    with start_embedded_postgres(data_dir) as server:  # the command let go of it
        assert is_migrated(server.url)


def test_an_unreachable_server_is_one_clear_line_without_the_password(tmp_path):
    done = salesbot(
        tmp_path,
        "migrate",
        DATABASE_URL="postgresql://sales_bot:TEST-db-password-canary-4Hs9@127.0.0.1:1/sales_bot",
    )
    assert done.returncode == 1
    assert "Cannot migrate PostgreSQL 127.0.0.1:1/sales_bot" in done.stderr
    assert "Traceback" not in done.stderr
    assert "canary" not in done.stderr + done.stdout
