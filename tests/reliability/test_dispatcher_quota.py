"""Through the Dispatcher: no interleaving of sends, restarts, a second process and local day
changes makes an account exceed MAX_DAILY_MESSAGES or send closer than MIN_MESSAGE_DELAY.

What counts is what reached Telegram (the fake's chat history, stamped by the fake clock).
The dispatcher must also never sit on a free slot: when the policy allows a send and a
reply is due, one call sends it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from hypothesis import given, settings

from salesbot.domain.quota import QuotaState, SendQuota
from tests.application.telegram_world import FakeLocks, World
from tests.fakes import FakeClock
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

USER_ID = 500
BACKLOG = 60


def _sent_times(world: World, account_id: int) -> list[datetime]:
    return [
        item.date for item in world.tg.history[(account_id, USER_ID)] if item.outgoing
    ]


async def _start(world: World, account_id: int) -> None:
    assert await world.pool.start(account_id)


async def _play(quota: SendQuota, start: datetime, scenario: list[Step]) -> None:
    world = World(
        clock=FakeClock(start),
        max_daily=quota.max_daily,
        min_delay=quota.min_delay.total_seconds(),
        tz=quota.tz,
    )
    account_id = await world.add_account()
    dialog_id, _ = await world.open_dialog(account_id, "prospect", USER_ID, opener=None)
    for index in range(BACKLOG):
        await world.enqueue(dialog_id, f"reply {index}")
    # A second process on the same database and Telegram: a split brain the advisory locks
    # would normally prevent; the quota must hold even then.
    other = World(
        clock=world.clock,
        store=world.store,
        telegram=world.telegram,
        max_daily=quota.max_daily,
        min_delay=quota.min_delay.total_seconds(),
        tz=quota.tz,
        locks=FakeLocks(),
    )
    await _start(world, account_id)
    await _start(other, account_id)
    for step in scenario:
        before = _sent_times(world, account_id)
        if isinstance(step, Advance):
            world.clock.advance(step.seconds)
        elif isinstance(step, Restart):
            world = await world.restart()
            await _start(world, account_id)
            await _start(other, account_id)
        elif isinstance(step, Crash):
            # The other process runs alone for a moment.
            await other.dispatcher.dispatch_once(account_id)
        elif isinstance(step, Attempt):
            dispatchers = [world.dispatcher, other.dispatcher] * step.reservers
            await asyncio.gather(
                *(d.dispatch_once(account_id) for d in dispatchers[: step.reservers])
            )
            now = world.clock.now()
            if len(before) < BACKLOG and quota.may_send(_replay(quota, before), now):
                # A free slot and a due reply: it went out at this moment.
                sent = _sent_times(world, account_id)
                assert len(sent) > len(before) and sent[-1] == now, (step, now, before[-3:])
    assert violations(_sent_times(world, account_id), quota) == []


def _replay(quota: SendQuota, sent: list[datetime]) -> QuotaState:
    state = QuotaState()
    for moment in sent:
        state = quota.after_send(state, moment)
    return state


@settings(max_examples=40, deadline=None)
@given(quota=quotas(), start=starts, scenario=steps)
def test_the_dispatcher_keeps_the_quota_through_restarts_a_second_process_and_day_changes(
    quota: SendQuota, start: datetime, scenario: list[Step]
) -> None:
    asyncio.run(_play(quota, start, scenario))


def test_a_whole_day_of_attempts_sends_exactly_the_daily_limit():
    """A worker calling in every ten seconds from 23:00 to 01:00 local time twice over."""

    async def run() -> None:
        from zoneinfo import ZoneInfo

        quota = SendQuota(
            max_daily=5, min_delay=timedelta(seconds=30), tz=ZoneInfo("Asia/Kathmandu")
        )
        start = datetime(2026, 3, 1, 22, 0, tzinfo=quota.tz)
        world = World(clock=FakeClock(start), max_daily=5, min_delay=30, tz=quota.tz)
        account_id = await world.add_account()
        dialog_id, _ = await world.open_dialog(account_id, "prospect", USER_ID, opener=None)
        for index in range(40):
            await world.enqueue(dialog_id, f"reply {index}")
        await _start(world, account_id)
        for _ in range(6 * 60 * 4):  # four hours
            await world.dispatcher.dispatch_once(account_id)
            world.clock.advance(10)
        sent = _sent_times(world, account_id)
        assert violations(sent, quota) == []
        per_day = sorted({quota.day_of(m) for m in sent})
        assert len(per_day) == 2 and len(sent) == 10

    asyncio.run(run())
