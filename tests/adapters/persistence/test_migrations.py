"""alembic owns the schema: up, down to nothing and up again on an empty database, and the
models match what the migrations build (autogenerate finds no difference)."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from salesbot.adapters.persistence import create_engine, is_migrated, run_migrations
from salesbot.adapters.persistence.migrations import current_revision, downgrade, head_revision
from salesbot.adapters.persistence.models import Base

TABLES = {
    "accounts",
    "dialogs",
    "messages",
    "do_not_contact",
    "peers",
    "settings",
    "telegram_update_states",
    "admin_updates",
    "campaigns",
    "campaign_leads",
    "webhook_events",
    "account_calls",
}


async def schema_of(url: str) -> tuple[set[str], list]:
    """The tables, and what autogenerate would change to make them match the models."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:

            def inspect_schema(sync_connection):
                tables = set(inspect(sync_connection).get_table_names()) - {"alembic_version"}
                context = MigrationContext.configure(
                    sync_connection, opts={"compare_type": True, "compare_server_default": True}
                )
                return tables, compare_metadata(context, Base.metadata)

            return await connection.run_sync(inspect_schema)
    finally:
        await engine.dispose()


def up_down_up(url: str) -> None:
    assert not is_migrated(url)
    assert current_revision(url) is None
    run_migrations(url)
    assert is_migrated(url)
    assert current_revision(url) == head_revision()
    downgrade(url, "base")
    assert current_revision(url) is None
    assert asyncio.run(schema_of(url))[0] == set()
    run_migrations(url)
    run_migrations(url)  # again: nothing to do, nothing breaks
    assert is_migrated(url)


def test_postgresql_migrates_up_down_and_up_and_matches_the_models(empty_pg_url):
    up_down_up(empty_pg_url)
    tables, differences = asyncio.run(schema_of(empty_pg_url))
    assert tables == TABLES
    assert differences == []


async def test_migrating_from_inside_a_running_event_loop_works(empty_pg_url):
    run_migrations(empty_pg_url)
    assert is_migrated(empty_pg_url)


def test_each_revision_applied_is_counted_for_the_progress_bar(empty_pg_url):
    from salesbot.adapters.persistence.migrations import pending_revisions

    total = pending_revisions(empty_pg_url)
    applied: list[None] = []
    run_migrations(empty_pg_url, on_revision=lambda: applied.append(None))

    assert total > 1 and len(applied) == total
    assert pending_revisions(empty_pg_url) == 0
