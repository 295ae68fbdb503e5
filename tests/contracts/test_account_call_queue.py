"""AccountCallQueue: the in-memory fake and the PostgreSQL adapter behave alike; what only a
database shows (two claimers at once, notifications, the poll when one is lost) is tested
on PostgreSQL."""

from __future__ import annotations

import asyncio
import inspect
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from salesbot.adapters.persistence import create_engine
from salesbot.adapters.persistence.account_calls import PgAccountCalls
from salesbot.application import ports
from salesbot.application.ports import CallOutcome
from salesbot.domain.account import Account
from tests.adapters.persistence.test_reconnect import terminate_backends
from tests.fakes import FakeClock
from tests.fakes.account_calls import FakeAccountCalls

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
SINCE = NOW - timedelta(minutes=1)
GUARD = 10.0
"""A wait that must end by a notification gets this long (real seconds) before the test
fails, against a poll of a minute: only a notification can end it in time."""


async def _three_accounts(uow_factory) -> None:
    async with uow_factory() as uow:
        for n in range(3):
            await uow.accounts.add(Account(phone=f"+7900000000{n}", session_string=f"s{n}"))
        await uow.commit()


@pytest.fixture(params=["fake", "postgresql"])
def backend(request):
    """None for the fake, else the test's (engine, uow_factory) on PostgreSQL."""
    if request.param == "fake":
        return None
    return request.getfixturevalue("engine"), request.getfixturevalue("uow_factory")


@pytest.fixture
async def queue(backend):
    if backend is None:
        yield FakeAccountCalls(FakeClock(NOW))
        return
    engine, uow_factory = backend
    await _three_accounts(uow_factory)
    calls = PgAccountCalls(engine)
    try:
        yield calls
    finally:
        await calls.close()


@pytest.fixture
async def pg(engine, uow_factory):
    await _three_accounts(uow_factory)
    calls = PgAccountCalls(engine)
    try:
        yield calls
    finally:
        await calls.close()


@pytest.fixture
async def other_process(database_url):
    """A second process's queue on the same database (its own engine and listener)."""
    engine = create_engine(database_url)
    calls = PgAccountCalls(engine)
    try:
        yield calls
    finally:
        await calls.close()
        await engine.dispose()


@pytest.mark.parametrize("implementation", [PgAccountCalls, FakeAccountCalls])
def test_the_implementations_have_the_ports_methods(implementation):
    for name, member in vars(ports.AccountCallQueue).items():
        if callable(member) and not name.startswith("_"):
            wanted = inspect.signature(member).parameters
            found = inspect.signature(getattr(implementation, name)).parameters
            assert list(found) == list(wanted), name


async def test_a_queued_call_is_claimed_once_by_its_accounts_owner_and_answered(queue):
    first = await queue.put(1, "resolve_username", {"username": "anna"}, at=NOW)
    second = await queue.put(2, "ask_spam_bot", {}, at=NOW)

    assert await queue.claim({3}, "b", queued_since=SINCE) == []
    claimed = await queue.claim({1, 2}, "b", queued_since=SINCE)
    assert [(c.id, c.account_id, c.call, c.args) for c in claimed] == [
        (first, 1, "resolve_username", {"username": "anna"}),
        (second, 2, "ask_spam_bot", {}),
    ]
    assert await queue.claim({1, 2}, "b", queued_since=SINCE) == [], "its own, not again"
    assert await queue.outcome(first) == CallOutcome("running")

    assert await queue.finish(first, result={"user_id": 2**62 + 1})
    assert await queue.finish(second, error={"type": "RateLimited", "retry_after": 30})
    assert await queue.outcome(first) == CallOutcome("done", {"user_id": 2**62 + 1})
    assert await queue.outcome(second) == CallOutcome(
        "failed", {"type": "RateLimited", "retry_after": 30}
    )
    assert not await queue.finish(first, result={}), "answered once"
    assert not await queue.abandon(first), "settled: the answer stays"


async def test_a_running_call_of_a_taker_who_lost_the_account_is_claimed_by_the_new_owner(queue):
    call_id = await queue.put(1, "ask_spam_bot", {}, at=NOW)
    assert [c.id for c in await queue.claim({1}, "old owner", queued_since=SINCE)] == [call_id]

    assert [c.id for c in await queue.claim({1}, "new owner", queued_since=SINCE)] == [call_id]
    assert await queue.finish(call_id, result={"text": "free"})
    assert not await queue.finish(call_id, result={"text": "late"}), "the old owner's is late"
    assert await queue.outcome(call_id) == CallOutcome("done", {"text": "free"})


async def test_an_abandoned_call_is_never_run_and_an_old_one_is_left_alone(queue):
    abandoned = await queue.put(1, "ask_spam_bot", {}, at=NOW)
    await queue.put(1, "ask_spam_bot", {}, at=SINCE - timedelta(seconds=1))
    assert await queue.abandon(abandoned)

    assert await queue.claim({1}, "b", queued_since=SINCE) == []
    assert await queue.outcome(abandoned) == CallOutcome("abandoned")
    assert not await queue.finish(abandoned, result={})


async def test_prune_forgets_the_calls_created_before_the_given_time(queue):
    old = await queue.put(1, "ask_spam_bot", {}, at=NOW - timedelta(days=2))
    new = await queue.put(1, "ask_spam_bot", {}, at=NOW)

    assert await queue.prune(NOW - timedelta(days=1)) == 1
    assert await queue.outcome(old) is None
    assert await queue.outcome(new) == CallOutcome("queued")


async def test_a_call_another_claimer_is_taking_is_passed_over_not_waited_for(pg, engine):
    first = await pg.put(1, "ask_spam_bot", {}, at=NOW)
    second = await pg.put(1, "ask_spam_bot", {}, at=NOW)
    async with engine.connect() as other:
        await other.execute(text(f"SELECT id FROM account_calls WHERE id = {first} FOR UPDATE"))

        claimed = await asyncio.wait_for(pg.claim({1}, "b", queued_since=SINCE), GUARD)

        assert [c.id for c in claimed] == [second]
        await other.rollback()
    assert [c.id for c in await pg.claim({1}, "c", queued_since=SINCE)] == [first, second]


async def test_two_processes_claiming_at_once_take_the_calls_of_their_own_accounts(
    pg, other_process
):
    ids = [await pg.put(1 + n % 3, "ask_spam_bot", {}, at=NOW) for n in range(30)]

    mine, theirs = await asyncio.gather(
        pg.claim({1, 2}, "a", queued_since=SINCE),
        other_process.claim({3}, "b", queued_since=SINCE),
    )

    assert [c.id for c in mine] == [i for n, i in enumerate(ids) if n % 3 != 2]
    assert [c.id for c in theirs] == [i for n, i in enumerate(ids) if n % 3 == 2]


async def test_a_queued_call_wakes_the_owner_long_before_its_poll(pg, other_process):
    await other_process.wait_for_calls(0)  # listening, as a running owner is
    waiting = asyncio.create_task(other_process.wait_for_calls(60))
    await asyncio.sleep(0.05)
    assert not waiting.done()

    await pg.put(1, "ask_spam_bot", {}, at=NOW)

    await asyncio.wait_for(waiting, GUARD)


async def test_an_answer_wakes_its_caller_long_before_its_poll(pg, other_process):
    call_id = await pg.put(1, "ask_spam_bot", {}, at=NOW)
    waiting = asyncio.create_task(pg.wait_for_outcome(call_id, 60))
    await asyncio.sleep(0.05)
    assert not waiting.done()

    await other_process.claim({1}, "b", queued_since=SINCE)
    await other_process.finish(call_id, result={"text": "free"})

    await asyncio.wait_for(waiting, GUARD)
    assert await pg.outcome(call_id) == CallOutcome("done", {"text": "free"})


async def test_an_answer_heard_before_its_caller_waits_is_not_waited_for(pg, other_process):
    call_id = await pg.put(1, "ask_spam_bot", {}, at=NOW)
    await other_process.claim({1}, "b", queued_since=SINCE)
    await other_process.finish(call_id, result={"text": "free"})
    await asyncio.sleep(0.05)  # the notification arrives before the caller waits

    await asyncio.wait_for(pg.wait_for_outcome(call_id, 60), GUARD)


async def test_without_a_notification_the_poll_still_finds_the_answer(pg, engine):
    call_id = await pg.put(1, "ask_spam_bot", {}, at=NOW)
    async with engine.begin() as connection:  # answered by hand: nobody NOTIFYs
        await connection.execute(
            text(
                "UPDATE account_calls SET status = 'done', result = '{\"text\": \"free\"}' "
                f"WHERE id = {call_id}"
            )
        )

    await pg.wait_for_outcome(call_id, 0.05)  # the poll's timeout ends the wait

    assert await pg.outcome(call_id) == CallOutcome("done", {"text": "free"})


async def test_the_listener_comes_back_after_its_connection_was_killed(
    pg, other_process, database_url
):
    await other_process.wait_for_calls(0)
    await terminate_backends(database_url, wait_until_gone=True)
    await other_process.wait_for_calls(0.05)  # reconnects (what was said meanwhile: polled)
    waiting = asyncio.create_task(other_process.wait_for_calls(60))
    await asyncio.sleep(0.05)

    await pg.put(1, "ask_spam_bot", {}, at=NOW)

    await asyncio.wait_for(waiting, GUARD)
