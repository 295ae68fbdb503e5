"""The election on PostgreSQL with the real admin bot: two processes' containers on one
database and one fake Bot API. Exactly one polls and answers the admin; when it stops or its
lock's connection is killed, the other polls after one interval; a process that wins the
lead back takes up its own bot again; the notices of a process that does not poll — it
never did, or it stepped down — still reach the admins."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from salesbot.adapters.admin_bot import SendingBot
from salesbot.adapters.persistence.leadership import PgLeadership
from salesbot.domain import events as ev
from salesbot.entrypoints.election import Election
from tests.adapters.admin_bot.conftest import ADMIN, SECOND_ADMIN, World
from tests.application.conversation_support import SteppingClock
from tests.contracts.test_leadership import terminate_the_leaders_backend
from tests.fakes import FakeClock
from tests.fakes.bot_api_server import FakeBotApi
from tests.secrets import BOT_TOKEN

INTERVAL = 5.0
GOAL = ev.GoalReached(dialog_id=7, username="ivan_petrov", summary="Демо во вторник в 11")


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Real I/O (the Bot API, PostgreSQL) settles in milliseconds; wait for it, bounded."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition never became true")
        await asyncio.sleep(0.005)


class BotProcess:
    """One salesbot process as far as the admin bot goes: its container (the real AdminBot
    and notifier), its election on the shared database, its notices' client opened."""

    def __init__(self, api: FakeBotApi, tmp_path: Path, engine: AsyncEngine, clock: SteppingClock):
        self.world = World(api, tmp_path, engine, notifier_clock=FakeClock())
        assert self.world.bot_notifier is not None
        self.notifier = self.world.bot_notifier
        self.sending = SendingBot(self.world.container.bot(), self.notifier)
        self.leadership = PgLeadership(engine)
        self.election = Election(
            self.leadership, self.world.bot.start, self.world.bot.stop, clock, interval=INTERVAL
        )
        self.task: asyncio.Task[None] | None = None

    @property
    def polls(self) -> bool:
        updater = self.world.bot.application.updater
        return updater is not None and updater.running

    async def begin(self) -> BotProcess:
        if self.task is None:
            await self.sending.open()
        self.task = asyncio.create_task(self.election.run())
        await eventually(self.election.component.ready.is_set)
        return self

    async def end(self) -> None:
        if self.task is not None and not self.task.done():
            await self.election.request_stop()
            await asyncio.wait_for(self.task, 10)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi(BOT_TOKEN)
    await server.start()
    yield server
    await server.close()


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
async def two(api, tmp_path, engine, clock) -> AsyncIterator[tuple[BotProcess, BotProcess]]:
    """Two processes, the first started first (so it leads)."""
    first = BotProcess(api, tmp_path, engine, clock)
    second = BotProcess(api, tmp_path, engine, clock)
    try:
        await first.begin()
        await second.begin()
        yield first, second
    finally:
        for process in (second, first):
            await process.end()
            await process.sending.close()
            await process.world.incoming.aclose()


async def test_of_two_processes_on_one_database_exactly_one_polls_and_answers(two, clock):
    first, second = two
    assert first.polls and not second.polls
    assert first.election.component.ready.is_set() and second.election.component.ready.is_set()
    await clock.advance(INTERVAL)
    await clock.advance(INTERVAL)
    assert first.polls and not second.polls
    assert (await first.world.admin.send("/help"))[0]


async def test_when_the_leader_stops_the_other_polls_after_one_interval(two, clock):
    first, second = two
    await first.end()
    assert not first.polls and not second.polls
    await clock.advance(INTERVAL)
    await eventually(lambda: second.polls)
    assert not first.polls
    assert (await second.world.admin.send("/help"))[0]


async def test_a_leader_whose_lock_connection_was_killed_stops_and_the_other_polls(
    two, clock, database_url
):
    first, second = two
    await terminate_the_leaders_backend(database_url)
    await clock.advance(INTERVAL)
    await eventually(lambda: second.polls and not first.polls)
    assert (await second.world.admin.send("/help"))[0]
    await clock.advance(INTERVAL)
    assert second.polls and not first.polls  # the first reconnected, and follows


async def test_a_process_that_wins_the_lead_back_takes_up_its_own_bot_again(two, clock):
    first, second = two
    await first.end()
    await clock.advance(INTERVAL)
    await eventually(lambda: second.polls)
    await first.begin()  # follows now
    await second.end()
    await clock.advance(INTERVAL)
    await eventually(lambda: first.polls)
    assert (await first.world.admin.send("/help"))[0]  # the same Application, started again


async def test_a_follower_that_never_polled_tells_the_admins(two, api):
    _, second = two
    mark = api.mark()
    await second.notifier.notify(GOAL)
    await second.notifier.flush()
    for admin in (ADMIN, SECOND_ADMIN):
        [notice] = await api.wait_replies(admin, 1, since=mark)
        assert "Демо во вторник в 11" in (notice.text or "")


async def test_a_leader_that_stepped_down_still_tells_the_admins(two, api):
    first, _ = two
    await first.end()  # its Application shut down, and with it the polling client
    mark = api.mark()
    await first.notifier.notify(GOAL)
    await first.notifier.flush()
    [notice] = await api.wait_replies(ADMIN, 1, since=mark)
    assert "Демо во вторник в 11" in (notice.text or "")
