"""STAND-IN until part B of issue 19 lands (B owns `locks.py` and replaces this module and
the `census` method that calls it): who holds which account lock, read from pg_locks.

Part B counts processes by a presence lock each holds; this stand-in can only count the
processes that hold at least one account lock (at least one: this process, asking).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from salesbot.adapters.persistence.transaction import reading
from salesbot.application.ports import Census

_CENSUS = text(
    "SELECT count(DISTINCT pid) AS processes, "
    "coalesce(array_agg(DISTINCT objid::bigint), '{}'::bigint[]) AS held "
    "FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
    "AND classid::bigint = :namespace "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


async def read_census(engine: AsyncEngine, namespace: int) -> Census:
    async with reading(engine) as tx:
        row = (await tx.execute(_CENSUS, {"namespace": namespace})).one()
    return Census(processes=max(1, int(row.processes)), held=frozenset(int(a) for a in row.held))
