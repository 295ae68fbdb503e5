"""PostgreSQL persistence: schema, migrations, repositories and query ports, unit of work,
session-string encryption, per-account locks, the embedded server."""

from salesbot.adapters.persistence.cipher import (
    FernetSessionCipher,
    load_or_create_session_secret,
)
from salesbot.adapters.persistence.engine import create_engine
from salesbot.adapters.persistence.locks import (
    PgAccountLocks,
)
from salesbot.adapters.persistence.migrations import is_migrated, run_migrations
from salesbot.adapters.persistence.unit_of_work import SqlUnitOfWork, sql_uow_factory

__all__ = [
    "FernetSessionCipher",
    "PgAccountLocks",
    "SqlUnitOfWork",
    "create_engine",
    "is_migrated",
    "load_or_create_session_secret",
    "run_migrations",
    "sql_uow_factory",
]
