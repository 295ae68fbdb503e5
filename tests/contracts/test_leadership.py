"""Leadership's contract, on the fake and on PostgreSQL's advisory lock: among the processes
on one database one leads; resigning, closing or losing its connection lets another lead
at its next try; a leader whose connection was cut knows it has lost the lead."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from salesbot.adapters.persistence import create_engine
from salesbot.adapters.persistence.leadership import ADMIN_BOT, ELECTION_NAMESPACE, PgLeadership
from salesbot.adapters.persistence.locks import LOCK_NAMESPACE
from salesbot.application.ports import Leadership
from tests.conftest import pg_url
from tests.fakes.leadership import Ballot, FakeLeadership

ELECTION_LOCK = (
    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid::bigint = $1"
    " AND objid::bigint = $2 AND objsubid = 2 AND granted AND database ="
    " (SELECT oid FROM pg_database WHERE datname = current_database())"
)


@dataclass
class Processes:
    """Two processes on one database, and how to cut the leader's connection."""

    first: Leadership
    second: Leadership
    cut_leader: Callable[[], Awaitable[None]]


async def terminate_the_leaders_backend(database_url: str) -> None:
    """What an operator (or a server restart) does: pg_terminate_backend from an admin
    connection on the session holding the election's lock; returns once it has ended."""
    admin = await asyncpg.connect(pg_url(make_url(database_url).database or ""))
    try:
        pids = [row["pid"] for row in await admin.fetch(ELECTION_LOCK, ELECTION_NAMESPACE, 1)]
        assert len(pids) == 1, pids
        await admin.execute("SELECT pg_terminate_backend($1)", pids[0])
        for _ in range(1000):
            if not await admin.fetch(ELECTION_LOCK, ELECTION_NAMESPACE, ADMIN_BOT):
                return
            await asyncio.sleep(0.002)
        raise AssertionError("the terminated session kept the lock")
    finally:
        await admin.close()


@pytest.fixture(params=["fake", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str | None:
    """None for the fake, else the URL of the test database."""
    return None if request.param == "fake" else str(request.getfixturevalue("database_url"))


@pytest.fixture
async def processes(backend: str | None) -> AsyncIterator[Processes]:
    if backend is None:
        ballot = Ballot()
        first, second = FakeLeadership(ballot), FakeLeadership(ballot)

        async def cut_fake() -> None:
            for one in (first, second):
                if ballot.leader is one:
                    one.cut()

        yield Processes(first, second, cut_fake)
        return
    database_url = backend
    engines = [create_engine(database_url), create_engine(database_url)]
    real = [PgLeadership(engine) for engine in engines]

    async def cut_real() -> None:
        await terminate_the_leaders_backend(database_url)

    try:
        yield Processes(real[0], real[1], cut_real)
    finally:
        for leadership in real:
            await leadership.close()
        for engine in engines:
            await engine.dispose()


async def test_of_two_processes_on_one_database_only_one_leads(processes):
    assert await processes.first.try_lead()
    assert not await processes.second.try_lead()
    assert await processes.first.try_lead()  # asking again keeps it
    assert not await processes.second.try_lead()
    assert await processes.first.still_leading()
    assert not await processes.second.still_leading()


async def test_the_leader_resigning_lets_the_other_lead_at_its_next_try(processes):
    assert await processes.first.try_lead()
    await processes.first.resign()
    assert not await processes.first.still_leading()
    assert await processes.second.try_lead()
    assert not await processes.first.try_lead()


async def test_a_closed_leader_lets_the_other_lead(processes):
    assert await processes.first.try_lead()
    await processes.first.close()
    assert await processes.second.try_lead()


async def test_a_leader_whose_connection_was_cut_has_lost_the_lead_to_the_next_try(processes):
    assert await processes.first.try_lead()
    await processes.cut_leader()
    assert not await processes.first.still_leading()
    assert await processes.second.try_lead()
    assert not await processes.first.try_lead()  # it reconnects, and finds it taken
    await processes.second.resign()
    assert await processes.first.try_lead()
    assert await processes.first.still_leading()


async def test_a_follower_that_was_cut_off_tries_again_on_a_new_connection(processes):
    assert await processes.first.try_lead()
    assert not await processes.second.try_lead()
    await processes.cut_leader()  # the leader's; the follower's connection lives on
    assert await processes.second.try_lead()


async def test_resigning_or_closing_what_was_never_led_does_nothing(processes):
    await processes.second.resign()
    await processes.second.close()
    assert await processes.first.try_lead()
    await processes.second.resign()
    assert await processes.first.still_leading()


def test_the_elections_lock_is_apart_from_the_accounts_locks():
    assert ELECTION_NAMESPACE != LOCK_NAMESPACE
    assert 0 < ELECTION_NAMESPACE < 2**31  # the first key of the two int4 keys


async def test_the_lead_is_one_advisory_lock_in_the_elections_namespace(database_url, engine):
    leadership = PgLeadership(engine)
    admin = await asyncpg.connect(pg_url(make_url(database_url).database or ""))
    try:
        assert await leadership.try_lead()
        assert len(await admin.fetch(ELECTION_LOCK, ELECTION_NAMESPACE, ADMIN_BOT)) == 1
        assert await admin.fetch(ELECTION_LOCK, LOCK_NAMESPACE, ADMIN_BOT) == []
        await leadership.resign()
        assert await admin.fetch(ELECTION_LOCK, ELECTION_NAMESPACE, ADMIN_BOT) == []
    finally:
        await leadership.close()
        await admin.close()


@pytest.mark.parametrize("implementation", [PgLeadership, FakeLeadership])
def test_each_implementation_has_the_ports_methods(implementation):
    for name in ("try_lead", "still_leading", "resign", "close"):
        wanted = inspect.signature(getattr(Leadership, name)).parameters
        assert list(inspect.signature(getattr(implementation, name)).parameters) == list(wanted)
