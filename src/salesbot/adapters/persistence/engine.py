"""The async engine: PostgreSQL through asyncpg.

A bounded pool; a connection a server restart killed is replaced when its first statement
fails (`transaction.Transaction.execute`), not pinged before every use.
"""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

_SCHEMES = ("postgres", "postgresql")


def async_url(url: str | URL) -> URL:
    """`url` with the driver salesbot uses (`postgresql://` and `postgres://` get asyncpg);
    ValueError for any other database."""
    parsed = make_url(url)
    backend = parsed.drivername.split("+", 1)[0]
    if backend not in _SCHEMES:
        raise ValueError(f"unsupported database {parsed.drivername!r}: salesbot uses PostgreSQL")
    return parsed.set(drivername="postgresql+asyncpg")


def create_engine(
    url: str | URL, *, pool_size: int = 10, max_overflow: int = 5
) -> AsyncEngine:
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=30,
        pool_recycle=3600,
        connect_args={
            "server_settings": {"application_name": "salesbot"},
            "timeout": 10,
            "command_timeout": 60,
        },
    )
