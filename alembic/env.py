"""alembic's entry: migrations run on the async engine salesbot itself uses.

The URL is the one `salesbot.adapters.persistence.migrations.run_migrations(url)` passes
in, else DATABASE_URL (run the `alembic` command with it set, or use `salesbot migrate`,
which also knows the embedded server).
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from salesbot.adapters.persistence.models import Base

config = context.config
target_metadata = Base.metadata

# Called from salesbot, logging is salesbot's own (loguru); from the alembic command,
# the ini file's.
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name)


def database_url() -> str:
    url = config.attributes.get("url")
    if url:
        return str(url)
    from salesbot.adapters.persistence.engine import async_url

    configured = os.environ.get("DATABASE_URL", "").strip()
    if not configured:
        raise SystemExit("DATABASE_URL is not set: use `salesbot migrate` for the embedded server")
    return async_url(configured).render_as_string(hide_password=False)


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        # `salesbot migrate`'s progress bar: called after each revision is applied.
        on_version_apply=config.attributes.get("on_version_apply", ()),
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    url = database_url()
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
elif config.attributes.get("connection") is not None:
    # A caller's connection, inside its transaction (adopting the seed's database runs the
    # migrations and the copy of the seed's rows as one transaction).
    do_run_migrations(config.attributes["connection"])
else:
    asyncio.run(run_async_migrations())
