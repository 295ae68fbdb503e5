"""The embedded PostgreSQL server: started in DATA_DIR, reached through asyncpg and through
SQLAlchemy's `postgresql+asyncpg`, kept across restarts, shared between handles and with a
server a killed process left behind, stopped by its last holder, and refused with one clear
line when its folder cannot be written.

The tests share one DATA_DIR, so initdb (about a second) runs once; each test starts the
server again (a fifth of that) and leaves it stopped: a server a failed test left running
is stopped after it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from salesbot.adapters.persistence.embedded import (
    APPLICATION_DATABASE,
    CLUSTER_NAME,
    FOLDER_NAME,
    EmbeddedPostgresError,
    start_embedded_postgres,
)

# A process that starts the server in the folder it is given, says the server's pid, and
# waits to be killed.
_HOLDER = """
import sys, time
from pathlib import Path
from salesbot.adapters.persistence.embedded import start_embedded_postgres
print(start_embedded_postgres(Path(sys.argv[1])).pid, flush=True)
time.sleep(600)
"""

_TEST_SERVER = """
import sys
from pathlib import Path
from salesbot.adapters.persistence.embedded import embedded_test_server
print(embedded_test_server(Path(sys.argv[1])))
"""


def pid_file(data_dir: Path) -> Path:
    return data_dir / FOLDER_NAME / CLUSTER_NAME / "postmaster.pid"


def running(data_dir: Path) -> bool:
    """A running server keeps postmaster.pid; a clean stop removes it."""
    return pid_file(data_dir).exists()


def stop_whatever_runs(data_dir: Path) -> None:
    """Fast shutdown of a server left running, without the code under test."""
    try:
        pid = int(pid_file(data_dir).read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + 10
    while running(data_dir) and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("embedded") / "data"
    try:
        yield folder
    finally:
        stop_whatever_runs(folder)


@pytest.fixture(autouse=True)
def _stopped_after_each_test(data_dir: Path) -> Iterator[None]:
    yield
    stop_whatever_runs(data_dir)


@pytest.fixture
def server(data_dir: Path):
    server = start_embedded_postgres(data_dir)
    try:
        yield server
    finally:
        server.stop()


async def fetch(url: str, query: str) -> object:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval(query)
    finally:
        await connection.close()


async def test_the_server_answers_asyncpg_in_the_application_database(server, data_dir):
    assert await fetch(server.url, "SELECT 1") == 1
    assert await fetch(server.url, "SELECT current_database()") == APPLICATION_DATABASE
    assert await fetch(server.url, "SHOW unix_socket_permissions") == "0700"
    assert server.cluster == data_dir.resolve() / FOLDER_NAME / CLUSTER_NAME
    assert (server.cluster / "PG_VERSION").read_text().strip() == "18"


async def test_the_server_answers_sqlalchemy_through_postgresql_asyncpg(server):
    engine = create_async_engine(make_url(server.url).set(drivername="postgresql+asyncpg"))
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_the_folders_are_owner_only(server, data_dir):
    for folder in (data_dir, server.folder, server.cluster):
        others = os.stat(folder).st_mode & 0o077
        assert others & 0o066 == 0, f"{folder} is open to others: {others:o}"


async def test_a_restart_keeps_the_data(data_dir):
    table = f"notes_{secrets.token_hex(4)}"
    first = start_embedded_postgres(data_dir)
    try:
        await fetch(first.url, f"CREATE TABLE {table} AS SELECT 'kept'::text AS note")
    finally:
        first.stop()
    assert not running(data_dir)

    second = start_embedded_postgres(data_dir)
    try:
        assert await fetch(second.url, f"SELECT note FROM {table}") == "kept"
    finally:
        second.stop()
    assert not running(data_dir)


async def test_a_second_handle_shares_the_server_and_the_last_one_stops_it(data_dir):
    with start_embedded_postgres(data_dir) as first, start_embedded_postgres(data_dir) as second:
        assert second.pid == first.pid
        first.stop()
        assert not first.holding and running(data_dir)
        assert await fetch(second.url, "SELECT 1") == 1
    assert not running(data_dir)
    second.stop()  # again: nothing to do


async def test_a_server_left_by_a_killed_process_is_adopted_and_stopped(data_dir):
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(data_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        left_pid = int(holder.stdout.readline())
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert running(data_dir)

    with start_embedded_postgres(data_dir) as adopted:
        assert adopted.pid == left_pid
        assert await fetch(adopted.url, "SELECT 1") == 1
    assert not running(data_dir)


async def test_a_pid_file_naming_another_program_does_not_block_a_start(data_dir):
    with start_embedded_postgres(data_dir):
        left_behind = pid_file(data_dir).read_text().split("\n", 1)[1]
    # As after a restart of the machine, when the old id went to another program (this one).
    pid_file(data_dir).write_text(f"{os.getpid()}\n{left_behind}")

    with start_embedded_postgres(data_dir) as server:
        assert server.pid != os.getpid()
        assert await fetch(server.url, "SELECT 1") == 1


def test_a_folder_in_the_way_of_a_file_gives_one_clear_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(EmbeddedPostgresError) as caught:
        start_embedded_postgres(blocker / "data")
    message = str(caught.value)
    assert message.startswith("cannot start the embedded PostgreSQL in ")
    assert str(blocker) in message and "Not a directory" in message
    assert "\n" not in message


def test_a_server_that_cannot_start_gives_postgresqls_reason_in_one_line(data_dir):
    start_embedded_postgres(data_dir).stop()  # the cluster exists
    configuration = data_dir / FOLDER_NAME / CLUSTER_NAME / "postgresql.conf"
    kept = configuration.read_text()
    configuration.write_text(kept + "shared_buffers = plenty\n")
    try:
        with pytest.raises(EmbeddedPostgresError) as caught:
            start_embedded_postgres(data_dir)
    finally:
        configuration.write_text(kept)
    message = str(caught.value)
    assert message.startswith("cannot start the embedded PostgreSQL in ")
    assert "pg_ctl exited with status 1: FATAL: configuration file" in message
    assert "\n" not in message


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder this process cannot write: mode 0555, and as root (who writes anyway) the
    immutable attribute too, where the filesystem has it."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    immutable = False
    if os.access(folder, os.W_OK):
        immutable = subprocess.run(["chattr", "+i", str(folder)], check=False).returncode == 0
        if not immutable:
            pytest.skip("root writes everywhere, and this filesystem has no immutable flag")
    try:
        yield folder
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


def test_a_folder_that_cannot_be_written_gives_one_clear_line(read_only_folder):
    with pytest.raises(EmbeddedPostgresError) as caught:
        start_embedded_postgres(read_only_folder)
    message = str(caught.value)
    assert message.startswith(f"cannot start the embedded PostgreSQL in {read_only_folder}")
    assert "Permission denied" in message or "Operation not permitted" in message
    assert "\n" not in message


def test_the_test_suites_server_stops_when_its_process_exits(data_dir):
    finished = subprocess.run(
        [sys.executable, "-c", _TEST_SERVER, str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    url = make_url(finished.stdout.strip())
    assert url.database == "postgres"
    assert url.query["host"] == str(data_dir.resolve() / FOLDER_NAME / CLUSTER_NAME)
    assert not running(data_dir)
