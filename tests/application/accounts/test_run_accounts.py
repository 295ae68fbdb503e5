"""AccountPool on fakes: concurrent start, one owner per session, failures as statuses."""

from __future__ import annotations

from datetime import timedelta

import pytest

from salesbot.application.accounts.run_accounts import AccountPool
from salesbot.application.accounts.update_states import UpdateStateKeeper
from salesbot.application.errors import CredentialsRejected
from salesbot.application.ports import IncomingMessage
from salesbot.domain.account import AccountStatus
from salesbot.domain.events import AccountBanned, AccountLoggedOut
from tests.application.telegram_world import FakeLocks, World


async def test_three_accounts_one_revoked_the_other_two_run_and_receive_messages():
    world = World()
    first = await world.add_account("+79000000001", session="session-one")
    revoked = await world.add_account("+79000000002", session="session-revoked")
    third = await world.add_account("+79000000003", session="session-three")
    world.tg.revoked_sessions.add("session-revoked")
    received: list[IncomingMessage] = []

    async def collect(message: IncomingMessage) -> None:
        received.append(message)

    world.tg.subscribe(collect)
    running = await world.pool.start_all()

    assert running == {first, third}
    assert world.tg.connected() == {first, third}
    assert (await world.account(revoked)).status is AccountStatus.LOGGED_OUT
    assert world.notifier.events == [AccountLoggedOut(account_id=revoked, phone="+79000000002")]
    assert world.locks.held() == {first, third}, "a logged-out account's lock is let go"

    await world.tg.deliver(first, 501, "hello from one", username="p_one")
    await world.tg.deliver(third, 503, "hello from three", username="p_three")
    assert [(m.account_id, m.text) for m in received] == [
        (first, "hello from one"),
        (third, "hello from three"),
    ]


async def test_a_banned_account_is_recorded_and_the_admin_told():
    world = World()
    banned = await world.add_account("+79000000002", session="session-banned")
    world.tg.banned_sessions.add("session-banned")
    await world.pool.start_all()
    assert (await world.account(banned)).status is AccountStatus.BANNED
    assert world.notifier.events == [AccountBanned(account_id=banned, phone="+79000000002")]


async def test_an_account_that_hangs_while_connecting_never_holds_up_the_others():
    world = World()
    hanging = await world.add_account("+79000000001", session="session-hangs")
    fine = await world.add_account("+79000000002", session="session-fine")
    world.tg.hanging_sessions.add("session-hangs")
    world.pool = AccountPool(
        world.uow,
        world.tg,
        world.locks,
        world.notifier,
        world.clock,
        UpdateStateKeeper(world.uow, world.clock),
        connect_timeout=0.05,
    )

    assert await world.pool.start_all() == {fine}
    assert (await world.account(hanging)).status is AccountStatus.ACTIVE, "it may work later"
    assert hanging not in world.locks.held()


async def test_two_pools_sharing_the_locks_never_run_the_same_account():
    registry: dict[int, FakeLocks] = {}
    world = World(locks=FakeLocks(registry))
    ids = [await world.add_account(f"+7900000000{n}") for n in range(1, 5)]
    other = await world.restart(locks=FakeLocks(registry))  # a second process, same database

    first_running = await world.pool.start_all()
    second_running = await other.pool.start_all()

    assert first_running == set(ids)
    assert second_running == frozenset()


async def test_an_account_another_process_lets_go_is_taken_over_on_refresh():
    registry: dict[int, FakeLocks] = {}
    world = World(locks=FakeLocks(registry))
    account_id = await world.add_account()
    other = await world.restart(locks=FakeLocks(registry))
    await world.pool.start_all()
    assert await other.pool.start_all() == frozenset()

    await world.pool.stop_all()
    await other.pool.refresh()

    assert other.pool.owned() == {account_id}
    assert registry[account_id] is other.locks


async def test_an_account_whose_lock_another_process_took_is_stopped_here_on_refresh(caplog):
    registry: dict[int, FakeLocks] = {}
    world = World(locks=FakeLocks(registry))
    account_id = await world.add_account()
    other = await world.restart(locks=FakeLocks(registry))
    await world.pool.start_all()

    # This process's lock connection died and the other process took the lock meanwhile.
    registry[account_id] = other.locks
    await world.pool.refresh()

    assert world.pool.owned() == frozenset()
    assert account_id not in world.tg.connected(), "one session must never run twice"
    assert registry[account_id] is other.locks, "the other process keeps its lock"
    assert "another process took its lock" in caplog.text
    await other.pool.refresh()
    assert other.pool.owned() == {account_id}
    assert account_id in world.tg.connected()


async def test_a_network_failure_is_retried_with_backoff_on_refresh():
    world = World()
    account_id = await world.add_account(session="session-offline")
    world.tg.unavailable_sessions.add("session-offline")
    await world.pool.start_all()
    assert world.pool.owned() == frozenset()
    attempts = len(world.tg.connects)

    world.tg.unavailable_sessions.clear()
    await world.pool.refresh()
    assert len(world.tg.connects) == attempts, "not before the retry is due"

    world.clock.advance(31)
    await world.pool.refresh()
    assert world.pool.owned() == {account_id}


async def test_the_retry_pause_grows_while_the_network_stays_down():
    world = World()
    await world.add_account(session="session-offline")
    world.tg.unavailable_sessions.add("session-offline")
    await world.pool.start_all()
    moments = []
    for _ in range(4):
        before = len(world.tg.connects)
        seconds = 0
        while len(world.tg.connects) == before:
            world.clock.advance(5)
            seconds += 5
            await world.pool.refresh()
        moments.append(seconds)
    assert moments == sorted(moments) and moments[-1] > moments[0]


async def test_refresh_follows_the_database_stops_and_starts_accounts():
    world = World()
    account_id = await world.add_account()
    await world.pool.start_all()

    async with world.uow() as uow:  # disabled by another process (the CLI, a second bot)
        account = await uow.accounts.get(account_id)
        assert account is not None
        account.disable()
        await uow.accounts.update(account)
        await uow.commit()
    await world.pool.refresh()
    assert world.pool.owned() == frozenset()
    assert world.tg.connected() == frozenset()

    later = await world.add_account("+79000000009")
    await world.pool.refresh()
    assert world.pool.owned() == {later}


async def test_a_client_that_died_is_reconnected_on_refresh():
    world = World()
    account_id = await world.add_account()
    await world.pool.start_all()
    await world.tg.disconnect(account_id)  # the connection dropped underneath

    await world.pool.refresh()
    assert world.tg.connected() == {account_id}
    assert world.tg.connects.count(account_id) == 2


async def test_limited_accounts_whose_cool_down_ended_are_lifted_and_run():
    world = World()
    rested = await world.add_account(
        "+79000000001",
        status=AccountStatus.LIMITED,
        limited_until=world.clock.now() - timedelta(minutes=1),
    )
    resting = await world.add_account(
        "+79000000002",
        status=AccountStatus.LIMITED,
        limited_until=world.clock.now() + timedelta(hours=3),
    )
    await world.pool.start_all()

    assert (await world.account(rested)).status is AccountStatus.ACTIVE
    assert (await world.account(resting)).status is AccountStatus.LIMITED
    assert world.pool.owned() == {rested, resting}, "a resting account still hears replies"


async def test_disabled_and_logged_out_accounts_are_not_started():
    world = World()
    await world.add_account("+79000000001", status=AccountStatus.DISABLED)
    await world.add_account("+79000000002", status=AccountStatus.LOGGED_OUT)
    assert await world.pool.start_all() == frozenset()
    assert world.tg.connects == []


async def test_stop_releases_the_lock_and_start_is_idempotent():
    world = World()
    account_id = await world.add_account()
    assert await world.pool.start(account_id)
    assert await world.pool.start(account_id)
    assert world.tg.connects == [account_id]
    await world.pool.stop(account_id)
    assert world.locks.held() == set()
    assert world.tg.connected() == frozenset()


async def test_api_id_rejected_by_telegram_ends_the_first_round_instead_of_retrying():
    """API_ID/API_HASH are every account's: no account may run and no retry helps."""
    world = World()
    account = await world.add_account("+79000000001", session="session-one")
    world.tg.api_id_rejected = True
    with pytest.raises(CredentialsRejected, match="API_ID/API_HASH"):
        await world.pool.start_all()
    assert world.tg.connected() == frozenset()
    assert world.locks.held() == set(), "its lock is let go"
    assert (await world.account(account)).status is AccountStatus.ACTIVE, "nothing recorded"
