"""PostgreSQL (and embedded SQLite) persistence: schema, migrations, repositories, unit of
work, session-string encryption and per-account locks."""

from salesbot.adapters.persistence.cipher import (
    FernetSessionCipher,
    load_or_create_session_secret,
)
from salesbot.adapters.persistence.engine import create_engine
from salesbot.adapters.persistence.locks import (
    InProcessAccountLocks,
    PgAccountLocks,
    account_locks_for,
)
from salesbot.adapters.persistence.migrations import is_migrated, run_migrations
from salesbot.adapters.persistence.unit_of_work import SqlUnitOfWork, sql_uow_factory

__all__ = [
    "FernetSessionCipher",
    "InProcessAccountLocks",
    "PgAccountLocks",
    "SqlUnitOfWork",
    "account_locks_for",
    "create_engine",
    "is_migrated",
    "load_or_create_session_secret",
    "run_migrations",
    "sql_uow_factory",
]
