"""Account calls between two processes on one database (both in this test, on fakes): a
command taken by one process uses an account the other runs, and hears its answer, or its
error as the same error, or, when nobody answers, which account did not."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from salesbot.application.accounts.account_calls import AccountCallRunner
from salesbot.application.conversation.start_dialog import StartDialog
from salesbot.application.errors import (
    AccountNotConnected,
    RateLimited,
    RecipientUnreachable,
    TelegramUnavailable,
)
from salesbot.domain.spam_bot import SpamVerdict
from tests.application.telegram_world import START, FakeLocks, World
from tests.fakes import FakeClock, FakeLanguageModel, FakeTelegram, InMemoryStore
from tests.fakes.account_calls import FakeAccountCalls

FREE = "Good news, no limits are currently applied to your account. You're free as a bird!"
LIMITED = (
    "Your account will be automatically released on 25 Dec 2026, 14:00 UTC. Please note "
    "that if you repeat what got you limited, the limitations will last longer next time."
)
SECOND_PHONE = "+79000000002"


@dataclass
class Processes:
    a: World
    b: World
    calls: FakeAccountCalls
    account: int
    """The account process b runs."""
    runners: dict[str, asyncio.Task[None]]

    def runner(self, world: World) -> AccountCallRunner:
        return world.container.account_call_runner()

    def run(self, name: str) -> None:
        world = self.a if name == "a" else self.b
        self.runners[name] = asyncio.create_task(self.runner(world).run_forever())

    async def stop(self, name: str) -> None:
        task = self.runners.pop(name)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def census(self) -> None:
        """Process a's router reads who runs what (its runner does it every few seconds)."""
        await self.a.container.other_processes().refresh()


@pytest.fixture
async def two() -> AsyncIterator[Processes]:
    """Process a runs no account; process b runs the second one."""
    clock, store, registry = FakeClock(START), InMemoryStore(), {}
    calls = FakeAccountCalls(clock)
    llm = FakeLanguageModel(default="Добрый день! Вопрос о вашем магазине.")

    def process() -> World:
        return World(
            clock=clock,
            store=store,
            telegram=FakeTelegram(clock),
            locks=FakeLocks(registry),
            calls=calls,
            llm=llm,
        )

    a, b = process(), process()
    await a.add_account()
    account = await a.add_account(SECOND_PHONE)
    assert await b.pool.start(account)
    processes = Processes(a, b, calls, account, {})
    await processes.census()
    processes.run("a")
    processes.run("b")
    try:
        yield processes
    finally:
        for name in list(processes.runners):
            await processes.stop(name)


async def test_start_through_an_account_the_other_process_runs_resolves_there(two):
    two.b.tg.add_user("annabel", 501)

    started = await two.a.container.start_dialog()(StartDialog("@annabel", "flowers"))

    assert started.account_id == two.account
    assert two.b.tg.resolves == [(two.account, "annabel")]
    assert two.a.tg.resolves == []
    dialog = two.a.store.tables.dialogs[started.dialog_id]
    assert (dialog.account_id, dialog.target_user_id) == (two.account, 501)
    peer = two.a.store.tables.peers[(two.account, "annabel")]
    assert peer == await two.b.tg.resolve_username(two.account, "annabel"), "b's access hash"
    assert two.calls.statuses() == ["done"]


async def test_check_account_asks_spam_bot_from_the_process_that_runs_the_account(two):
    two.b.tg.spam_bot_answers[two.account] = LIMITED

    checked = await two.a.container.account_check().check(SECOND_PHONE)

    assert checked.answer.verdict is SpamVerdict.LIMITED
    assert two.b.tg.spam_bot_asked == [two.account]
    assert two.a.tg.spam_bot_asked == []


async def test_an_error_of_the_other_process_crosses_as_the_same_error(two):
    with pytest.raises(RecipientUnreachable) as unreachable:
        await two.a.container.start_dialog()(StartDialog("@nobody_here"))
    assert unreachable.value.reason == RecipientUnreachable.NOT_FOUND

    two.b.tg.fail_next(two.account, RateLimited(420, "asking @SpamBot"), on="spam_bot")
    with pytest.raises(RateLimited) as limited:
        await two.a.container.account_check().check(SECOND_PHONE)
    assert (limited.value.retry_after, limited.value.action) == (420, "asking @SpamBot")
    assert two.calls.statuses() == ["failed", "failed"]


async def test_no_answer_in_time_abandons_the_call_and_names_the_account(two):
    await two.stop("b")  # b holds the account but runs no calls (stuck)
    two.b.tg.spam_bot_answers[two.account] = FREE

    with pytest.raises(TelegramUnavailable, match=f"account {two.account}"):
        await two.a.container.account_check().check(SECOND_PHONE)

    assert two.calls.statuses() == ["abandoned"]
    two.run("b")
    await two.runner(two.b).run_once()
    await two.runner(two.b).idle()
    assert two.b.tg.spam_bot_asked == [], "never run late"


async def test_a_call_queued_while_its_owner_is_down_is_run_by_the_accounts_next_owner(two):
    await two.stop("b")
    two.a.tg.spam_bot_answers[two.account] = FREE
    checking = asyncio.create_task(two.a.container.account_check().check(SECOND_PHONE))
    for _ in range(5):
        await asyncio.sleep(0)
    assert two.calls.statuses() == ["queued"]

    await two.b.tg.process_died()  # b is gone: its lock with it
    await two.b.pool.stop_all()
    assert await two.a.pool.start(two.account)  # a takes the account over

    checked = await checking
    assert checked.answer.verdict is SpamVerdict.FREE
    assert two.a.tg.spam_bot_asked == [two.account]
    assert two.calls.statuses() == ["done"]


async def test_an_account_nobody_runs_is_not_connected_anywhere(two):
    await two.b.pool.stop_all()
    await two.census()

    with pytest.raises(AccountNotConnected):
        await two.a.container.account_check().check(SECOND_PHONE)
    assert two.calls.statuses() == [], "nothing queued for nobody"


async def test_a_call_taken_by_a_process_that_lost_the_account_is_run_by_the_new_owner(two):
    await two.stop("b")
    two.a.tg.spam_bot_answers[two.account] = FREE
    checking = asyncio.create_task(two.a.container.account_check().check(SECOND_PHONE))
    for _ in range(5):
        await asyncio.sleep(0)
    # b claims it, then loses the account before answering (cut off from the database).
    assert [c.account_id for c in await two.calls.claim({two.account}, "b", queued_since=START)]
    await two.b.pool.stop_all()
    assert await two.a.pool.start(two.account)

    checked = await checking

    assert checked.answer.verdict is SpamVerdict.FREE
    assert two.a.tg.spam_bot_asked == [two.account]
