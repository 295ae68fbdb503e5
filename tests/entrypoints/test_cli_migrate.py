"""`salesbot migrate` in-process: idempotent, `--check`, and configuration problems."""

from __future__ import annotations

import io

import pytest

from salesbot.adapters.persistence import is_migrated
from salesbot.adapters.persistence.embedded import start_embedded_postgres
from salesbot.entrypoints.cli import main
from salesbot.entrypoints.commands.migrate import revision_bar


@pytest.fixture
def embedded(monkeypatch, tmp_path):
    """No DATABASE_URL: the embedded PostgreSQL in a DATA_DIR that does not exist yet."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def embedded_is_migrated(data_dir) -> bool:
    with start_embedded_postgres(data_dir) as server:
        return is_migrated(server.url)


def migrate(tmp_path, *args):
    empty = tmp_path / "empty.env"  # no settings but the environment
    empty.write_text("")
    return main(["--env-file", str(empty), "migrate", *args])


def test_check_tells_whether_a_migration_is_due(embedded, tmp_path, capsys):
    assert migrate(tmp_path, "--check") == 1
    assert "no schema" in capsys.readouterr().out
    assert not embedded.exists()  # checking creates nothing

    assert migrate(tmp_path) == 0
    assert "from an empty database to" in capsys.readouterr().out
    assert embedded_is_migrated(embedded)

    assert migrate(tmp_path, "--check") == 0
    assert "has the newest schema" in capsys.readouterr().out


def test_migrating_twice_changes_nothing(embedded, tmp_path, capsys):
    assert migrate(tmp_path) == 0
    assert migrate(tmp_path) == 0
    assert "already has the newest schema" in capsys.readouterr().out


def test_a_malformed_database_url_is_named(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DATABASE_URL", "mysql://root@localhost/sales")
    assert migrate(tmp_path) == 2
    assert "DATABASE_URL" in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_is_drawn_on_a_terminal_only():
    piped, terminal = io.StringIO(), _Terminal()
    for stream in (piped, terminal):
        with revision_bar(3, stream) as step:
            for _ in range(3):
                step()

    assert piped.getvalue() == ""  # a pipe or a log file gets the result line alone
    assert "Migrating:" in terminal.getvalue() and "/3 " in terminal.getvalue()
