"""The account pool over PyrogramAccounts, its clients stand-ins for `pyrogram.Client`:
three accounts, one whose session Telegram revoked (AuthKeyUnregistered at start)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from pyrogram import enums, types
from pyrogram import errors as tg

from salesbot.adapters.telegram import PyrogramAccounts
from salesbot.application.accounts.run_accounts import AccountPool
from salesbot.application.accounts.update_states import UpdateStateKeeper
from salesbot.application.ports import IncomingMessage
from salesbot.domain.account import Account, AccountStatus
from salesbot.domain.events import AccountLoggedOut
from tests.adapters.telegram.client_stand_in import StandInTelegram, make_session_string
from tests.application.telegram_world import FakeLocks
from tests.fakes import FakeClock, FakeNotifier, FakeUnitOfWork, InMemoryStore
from tests.secrets import API_HASH, API_ID


async def no_sleep(_seconds: float) -> None:
    await asyncio.sleep(0)


def text_from(user_id: int, text: str, message_id: int) -> types.Message:
    return types.Message(
        id=message_id,
        from_user=types.User(id=user_id, username=f"user{user_id}", is_bot=False),
        chat=types.Chat(id=user_id, type=enums.ChatType.PRIVATE),
        date=datetime(2026, 1, 5, 12, 0),  # noqa: DTZ001 - kurigram's dates are naive
        text=text,
    )


async def test_the_other_two_accounts_run_and_receive_messages():
    store = InMemoryStore()
    telegram = StandInTelegram()
    sessions = [make_session_string(7000 + n, marker=bytes([n])) for n in range(3)]
    telegram.broken_sessions[sessions[1]] = tg.AuthKeyUnregistered()
    async with FakeUnitOfWork(store) as uow:
        ids = []
        for n, session in enumerate(sessions):
            account = await uow.accounts.add(
                Account(phone=f"+7900000000{n}", session_string=session)
            )
            ids.append(account.id)
        await uow.commit()
    connections = PyrogramAccounts(
        API_ID, API_HASH, client_factory=telegram.factory, sleep=no_sleep
    )
    received: list[IncomingMessage] = []

    async def collect(message: IncomingMessage) -> None:
        received.append(message)

    connections.subscribe(collect)
    notifier = FakeNotifier()
    clock = FakeClock()
    pool = AccountPool(
        lambda: FakeUnitOfWork(store),
        connections,
        FakeLocks(),
        notifier,
        clock,
        UpdateStateKeeper(lambda: FakeUnitOfWork(store), clock),
    )

    running = await pool.start_all()

    assert running == {ids[0], ids[2]}
    assert notifier.events == [AccountLoggedOut(account_id=ids[1], phone="+79000000001")]
    async with FakeUnitOfWork(store) as uow:
        revoked = await uow.accounts.get(ids[1])
    assert revoked is not None and revoked.status is AccountStatus.LOGGED_OUT

    await telegram.client(sessions[0]).emit(text_from(501, "to the first", 1))
    await telegram.client(sessions[2]).emit(text_from(503, "to the third", 1))
    assert [(m.account_id, m.user_id, m.text) for m in received] == [
        (ids[0], 501, "to the first"),
        (ids[2], 503, "to the third"),
    ]

    await pool.stop_all()
    assert connections.connected() == frozenset()
    assert all(c.is_connected is False for c in telegram.clients)
