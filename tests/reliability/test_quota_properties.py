"""Any interleaving of sends, restarts, crashes and day changes keeps the account's quota.

The domain policy, the in-memory unit of work's atomic reservation and the SQL one on
PostgreSQL are driven through the same generated scenarios; each must (1) never exceed the
daily limit in TIMEZONE's calendar days nor send two messages closer than the minimum delay,
and (2) never refuse a slot the policy says is free (a quota that never sends is safe but
useless).
"""

from __future__ import annotations

import asyncio
import itertools
import os
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from salesbot.adapters.persistence import SqlUnitOfWork, create_engine, sql_uow_factory
from salesbot.domain.account import Account
from salesbot.domain.quota import QuotaState, SendQuota
from tests.fakes import FakeCipher, FakeUnitOfWork, InMemoryStore
from tests.reliability.quota_model import (
    Advance,
    Attempt,
    Crash,
    Restart,
    Step,
    quotas,
    starts,
    steps,
    violations,
)

PROPERTY = settings(max_examples=150, deadline=None)


@PROPERTY
@given(quota=quotas(), start=starts, scenario=steps)
def test_the_policy_alone_never_breaks_its_own_quota(
    quota: SendQuota, start: datetime, scenario: list[Step]
) -> None:
    now, state, sent_at = start, QuotaState(), []
    for step in scenario:
        if isinstance(step, Advance):
            now += timedelta(seconds=step.seconds)
        elif isinstance(step, Restart):
            # What survives a restart is what the database keeps: day, count, last send.
            state = QuotaState(day=state.day, sent=state.sent, last_sent_at=state.last_sent_at)
        elif isinstance(step, Attempt):
            for _ in range(step.reservers):
                if quota.may_send(state, now):
                    state = quota.after_send(state, now)
                    sent_at.append(now)
        nxt = quota.next_allowed(state, now)
        # "When next?" is honest: free at that moment, and not a microsecond before.
        if quota.max_daily > 0:
            assert quota.may_send(state, nxt)
        if nxt > now:
            assert not quota.may_send(state, nxt - timedelta(microseconds=1))
    assert violations(sent_at, quota) == []


class InMemoryBackend:
    """The in-memory unit of work: every worker and every restart opens its own."""

    def __init__(self, quota: SendQuota) -> None:
        self.quota = quota
        self.store = InMemoryStore()
        self.account_id = 0

    async def open(self) -> None:
        async with FakeUnitOfWork(self.store) as uow:
            account = await uow.accounts.add(Account(phone="+79990000001", session_string="s"))
            await uow.commit()
        assert account.id is not None
        self.account_id = account.id

    async def reserve(self, now: datetime, *, commit: bool = True) -> bool:
        async with FakeUnitOfWork(self.store) as uow:
            taken = await uow.accounts.reserve_send_slot(
                self.account_id, self.quota.slot_request(now, created_at=None)
            )
            if taken and commit:
                await uow.commit()
            return taken and commit

    async def restart(self) -> None:
        """Nothing lives outside the store between units of work."""

    async def close(self) -> None:
        pass


class SqlBackend(InMemoryBackend):
    """The SQL unit of work on the test session's PostgreSQL database: a restart throws the
    engine and its connections away. Each scenario gets an account of its own."""

    _phones = itertools.count(1)

    def __init__(self, quota: SendQuota, url: str) -> None:
        super().__init__(quota)
        self.url = url
        self.engine: AsyncEngine | None = None

    def _uow(self) -> SqlUnitOfWork:
        assert self.engine is not None
        return sql_uow_factory(self.engine, FakeCipher())()

    async def open(self) -> None:
        self.engine = create_engine(self.url)
        async with self._uow() as uow:
            phone = f"+7999{next(self._phones):07d}{os.getpid() % 1000:03d}"
            account = await uow.accounts.add(Account(phone=phone, session_string="s"))
            await uow.commit()
        assert account.id is not None
        self.account_id = account.id

    async def reserve(self, now: datetime, *, commit: bool = True) -> bool:
        async with self._uow() as uow:
            taken = await uow.accounts.reserve_send_slot(
                self.account_id, self.quota.slot_request(now, created_at=None)
            )
            if taken and commit:
                await uow.commit()
            return taken and commit

    async def restart(self) -> None:
        await self.close()
        self.engine = create_engine(self.url)

    async def close(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()
            self.engine = None


async def play(backend: InMemoryBackend, start: datetime, scenario: list[Step]) -> None:
    """Run `scenario` against `backend`, checking each burst against the policy."""
    quota = backend.quota
    await backend.open()
    try:
        sent_at = await _steps(backend, quota, start, scenario)
    finally:
        await backend.close()
    assert violations(sent_at, quota) == []


async def _steps(
    backend: InMemoryBackend, quota: SendQuota, start: datetime, scenario: list[Step]
) -> list[datetime]:
    now, expected, sent_at = start, QuotaState(), []
    for step in scenario:
        if isinstance(step, Advance):
            now += timedelta(seconds=step.seconds)
        elif isinstance(step, Restart):
            await backend.restart()
        elif isinstance(step, Crash):
            await backend.reserve(now, commit=False)
        elif isinstance(step, Attempt):
            results = await asyncio.gather(
                *(backend.reserve(now) for _ in range(step.reservers))
            )
            free, probe = 0, expected
            while free < step.reservers and quota.may_send(probe, now):
                probe = quota.after_send(probe, now)
                free += 1
            assert sum(results) == free, (step, expected, now)
            expected = probe
            sent_at.extend([now] * free)
    return sent_at


@PROPERTY
@given(quota=quotas(), start=starts, scenario=steps)
def test_the_in_memory_reservation_keeps_the_quota_and_grants_every_free_slot(
    quota: SendQuota, start: datetime, scenario: list[Step]
) -> None:
    asyncio.run(play(InMemoryBackend(quota), start, scenario))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(quota=quotas(), start=starts, scenario=steps)
def test_the_atomic_sql_reservation_keeps_the_quota_and_grants_every_free_slot(
    database_url: str, quota: SendQuota, start: datetime, scenario: list[Step]
) -> None:
    """The same scenarios on PostgreSQL: concurrent reservers race on one row for real."""
    asyncio.run(play(SqlBackend(quota, database_url), start, scenario))


@settings(max_examples=30, deadline=None)
@given(quota=quotas(), start=starts, gaps=st.lists(st.floats(0, 7200), min_size=1, max_size=60))
def test_a_busy_account_sends_exactly_what_the_policy_allows(
    quota: SendQuota, start: datetime, gaps: list[float]
) -> None:
    """Workers retrying at arbitrary moments get exactly the policy's slots, no more."""

    async def run() -> None:
        backend = InMemoryBackend(quota)
        await backend.open()
        now, sent_at, state = start, [], QuotaState()
        for gap in gaps:
            now += timedelta(seconds=gap)
            if await backend.reserve(now):
                assert quota.may_send(state, now)
                state = quota.after_send(state, now)
                sent_at.append(now)
            else:
                assert not quota.may_send(state, now)
        assert violations(sent_at, quota) == []

    asyncio.run(run())
