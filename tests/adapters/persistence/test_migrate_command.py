"""`salesbot migrate` as the operator runs it: a real process, the seed's DATABASE_URL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from salesbot.adapters.persistence import is_migrated
from tests.conftest import pg_url, throwaway_database

SALESBOT = Path(sys.executable).parent / "salesbot"
SEED_COLUMNS = ["id", "phone", "session_string", "status", "last_used", "daily_messages"]


def salesbot(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update(env)
    return subprocess.run(
        [str(SALESBOT), "--env-file", str(cwd / "absent.env"), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def empty_database():
    with throwaway_database("migrate_cmd") as name:
        yield name


def test_migrate_on_an_empty_database_gives_the_seeds_accounts_table(empty_database, tmp_path):
    url = pg_url(empty_database)  # postgresql://..., as in the seed's .env
    done = salesbot(tmp_path, "migrate", DATABASE_URL=url)
    assert done.returncode == 0, done.stderr
    assert "Migrated PostgreSQL 127.0.0.1:5432/" in done.stdout

    described = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", empty_database, "-c", r"\d accounts"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    columns = [
        line.split("|")[0].strip()
        for line in described.splitlines()
        if line.count("|") >= 2 and not line.lstrip().startswith("Column")
    ]
    assert columns[: len(SEED_COLUMNS)] == SEED_COLUMNS
    assert "uq_accounts_phone" in described


def test_without_database_url_the_embedded_database_is_created_in_data_dir(tmp_path):
    data_dir = tmp_path / "fresh" / "salesbot-data"
    done = salesbot(tmp_path, "migrate", DATA_DIR=str(data_dir))
    assert done.returncode == 0, done.stderr
    database = data_dir / "salesbot.sqlite3"
    assert f"embedded SQLite at {database}" in done.stdout
    assert is_migrated(f"sqlite:///{database}")


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
