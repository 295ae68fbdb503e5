"""Start-up logs what an operator needs at INFO: alembic's plugin and dialect lines (seven
and two on every start, from the schema check) show at DEBUG only."""

from __future__ import annotations

import io
import logging

from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from salesbot.adapters.logging import SecretMask, configure_logging


def alembic_start_up() -> None:
    """What alembic logs when salesbot checks or migrates the schema."""
    logging.getLogger("alembic.runtime.plugins").info("setup plugin %s", "alembic.ext.example")
    engine = create_engine("sqlite://")
    with engine.connect() as connection:  # the real "Context impl" / "Will assume" lines
        MigrationContext.configure(connection)
    engine.dispose()
    logging.getLogger("alembic.runtime.migration").info("Running upgrade %s -> %s", "a1", "b2")


def test_at_info_only_the_migration_steps_show():
    buffer = io.StringIO()
    configure_logging("INFO", stream=buffer, mask=SecretMask())
    alembic_start_up()
    lines = buffer.getvalue().splitlines()
    assert [line.split(" - ", 1)[1] for line in lines] == ["Running upgrade a1 -> b2"]
    assert "| INFO " in lines[0]


def test_at_debug_the_demoted_lines_show_as_debug():
    buffer = io.StringIO()
    configure_logging("DEBUG", stream=buffer, mask=SecretMask())
    alembic_start_up()
    text = buffer.getvalue()
    for message in ("setup plugin alembic.ext.example", "Context impl SQLiteImpl."):
        line = next(line for line in text.splitlines() if message in line)
        assert "| DEBUG " in line, line
    assert "Running upgrade a1 -> b2" in text


def test_configuring_twice_demotes_once():
    for _ in range(2):
        configure_logging("INFO", stream=io.StringIO(), mask=SecretMask())
    assert len(logging.getLogger("alembic.runtime.plugins").filters) == 1
