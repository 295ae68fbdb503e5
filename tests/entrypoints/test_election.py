"""The admin bot's election among the processes on one database: exactly one polls; when it
stops or loses its lock another one polls after one interval; the lead is told once per
change. On the in-memory Leadership and a stand-in for the admin bot, with a clock whose
`sleep` waits for the test (the same election on PostgreSQL and the real bot:
test_election_on_a_database.py)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from salesbot.application.errors import CredentialsRejected, TelegramUnavailable
from salesbot.entrypoints.election import FOLLOWS, LEADS, Election
from salesbot.entrypoints.serving import refusing_rejected_credentials
from salesbot.entrypoints.supervisor import Unrecoverable
from tests.application.conversation_support import SteppingClock, settle
from tests.fakes.leadership import Ballot, FakeLeadership

INTERVAL = 5.0


class StandinBot:
    """What the election starts and stops: polls between a start and a stop."""

    def __init__(self) -> None:
        self.polling = False
        self.starts = 0
        self.failure: Exception | None = None

    async def start(self) -> None:
        self.starts += 1
        if self.failure is not None:
            raise self.failure
        self.polling = True

    async def stop(self) -> None:
        self.polling = False


class Process:
    """One salesbot process's election: its own claim on the shared ballot, its own bot."""

    def __init__(self, ballot: Ballot, clock: SteppingClock) -> None:
        self.leadership = FakeLeadership(ballot)
        self.bot = StandinBot()
        self.election = Election(
            self.leadership,
            refusing_rejected_credentials(self.bot.start),
            self.bot.stop,
            clock,
            interval=INTERVAL,
        )
        self.task: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        return self.election.component.ready.is_set()

    async def begin(self) -> Process:
        self.task = asyncio.create_task(self.election.run())
        await settle()
        return self

    async def end(self) -> None:
        assert self.task is not None
        await self.election.request_stop()
        await asyncio.wait_for(self.task, 5)


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
def ballot() -> Ballot:
    return Ballot()


@pytest.fixture
async def processes(ballot, clock):
    started: list[Process] = []

    async def make(count: int) -> list[Process]:
        made = [Process(ballot, clock) for _ in range(count)]
        for process in made:
            started.append(await process.begin())
        return made

    yield make
    for process in started:
        if process.task is not None and not process.task.done():
            await process.end()


def polling(processes: list[Process]) -> list[Process]:
    return [p for p in processes if p.bot.polling]


async def test_of_two_processes_on_one_database_exactly_one_polls_and_both_are_ready(
    processes, clock
):
    first, second = await processes(2)
    assert polling([first, second]) == [first]
    assert first.ready and second.ready  # a follower is up too: it follows
    for _ in range(3):
        await clock.advance(INTERVAL)
        assert polling([first, second]) == [first]
    assert first.bot.starts == 1 and second.bot.starts == 0


async def test_when_the_leader_stops_another_polls_after_one_interval(processes, clock):
    first, second, third = await processes(3)
    await first.end()
    assert polling([first, second, third]) == []
    await clock.advance(INTERVAL)
    assert len(polling([second, third])) == 1


async def test_a_leader_that_lost_its_lock_stops_polling_at_its_next_confirmation(
    processes, clock, caplog
):
    caplog.set_level(logging.INFO, logger="salesbot.run")
    first, second = await processes(2)
    first.leadership.cut()  # its database connection was killed
    await clock.advance(INTERVAL)
    assert polling([first, second]) == [second]
    assert "admin bot: this process lost the lead; it stops polling" in caplog.messages
    await clock.advance(INTERVAL)
    assert polling([first, second]) == [second]
    assert first.ready  # following is being up


async def test_a_leader_that_cannot_reach_the_database_stops_polling(processes, clock, ballot):
    (only,) = await processes(1)
    assert only.bot.polling
    ballot.reachable = False
    await clock.advance(INTERVAL)
    assert not only.bot.polling
    ballot.reachable = True
    await clock.advance(INTERVAL)
    assert only.bot.polling  # it wins the lead back once the database answers


async def test_a_follower_that_cannot_ask_the_database_follows_and_says_so_once(
    processes, clock, ballot, caplog
):
    caplog.set_level(logging.INFO, logger="salesbot.run")
    ballot.reachable = False
    (only,) = await processes(1)
    for _ in range(3):
        await clock.advance(INTERVAL)
    assert not only.bot.polling and only.ready
    told = [m for m in caplog.messages if "cannot ask the database who leads" in m]
    assert len(told) == 1 and "asks again every 5 s" in told[0]
    ballot.reachable = True
    await clock.advance(INTERVAL)
    assert only.bot.polling


async def test_leading_and_following_are_told_once_per_change(processes, clock, caplog):
    caplog.set_level(logging.INFO, logger="salesbot.run")
    (only,) = await processes(1)
    for _ in range(3):
        await clock.advance(INTERVAL)
    only.leadership.cut()
    for _ in range(3):
        await clock.advance(INTERVAL)
    told = [m for m in caplog.messages if m.startswith("admin bot:")]
    assert told == [
        LEADS,
        "admin bot: this process lost the lead; it stops polling",
        FOLLOWS,
        LEADS,
    ]


async def test_a_start_that_fails_lets_the_lead_go_so_another_process_may_take_it(ballot, clock):
    first, second = Process(ballot, clock), Process(ballot, clock)
    first.bot.failure = TelegramUnavailable("cannot reach the Bot API at 127.0.0.1:9")
    with pytest.raises(TelegramUnavailable):  # the supervisor tells it and retries later
        await first.election.run()
    assert not first.bot.polling and not first.ready
    assert ballot.leader is None
    await second.begin()
    assert polling([first, second]) == [second]
    await second.end()


async def test_a_rejected_bot_token_ends_the_process_with_the_configurations_status(ballot, clock):
    (process,) = [Process(ballot, clock)]
    process.bot.failure = CredentialsRejected("BOT_TOKEN", "the Bot API does not know it")
    with pytest.raises(Unrecoverable) as stopped:
        await process.election.run()
    assert stopped.value.exit_code == 2
    assert ballot.leader is None


async def test_a_stopped_process_lets_the_lead_go_at_once(processes, ballot):
    first, second = await processes(2)
    await second.end()  # a follower's stop changes nothing
    assert ballot.leader is first.leadership
    await first.end()
    assert ballot.leader is None and not first.bot.polling
