"""AccountCheck: @SpamBot asked from one account, read in plain words, nothing changed."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from salesbot.application.accounts.check_account import AccountCheck
from salesbot.application.errors import AccountNotConnected, UnknownAccount
from salesbot.domain.account import Account, AccountStatus
from salesbot.domain.spam_bot import SpamVerdict
from tests.fakes import FakeTelegram, FakeUnitOfWork, InMemoryStore
from tests.secrets import SESSION_STRING

PHONE = "+79001234567"
LIMITED = (
    "Your account will be automatically released on 25 Dec 2026, 14:00 UTC. Please note "
    "that if you repeat what got you limited, the limitations will last longer next time."
)


async def _world(*, connected: bool = True):
    store, telegram = InMemoryStore(), FakeTelegram()
    async with FakeUnitOfWork(store) as uow:
        account = await uow.accounts.add(Account(phone=PHONE, session_string=SESSION_STRING))
        await uow.commit()
    if connected:
        await telegram.connect(account, [])
    return store, telegram, AccountCheck(lambda: FakeUnitOfWork(store), telegram, telegram), account


async def test_a_limited_account_is_reported_with_its_end_and_nothing_is_stored():
    store, telegram, check, account = await _world()
    telegram.spam_bot_answers[account.id] = LIMITED

    checked = await check.check("+7 900 123-45-67")

    assert (checked.account_id, checked.phone) == (account.id, PHONE)
    assert checked.answer.verdict is SpamVerdict.LIMITED
    assert checked.answer.until == datetime(2026, 12, 25, 14, 0, tzinfo=timezone.utc)
    async with FakeUnitOfWork(store) as uow:
        stored = await uow.accounts.get(account.id)
    assert stored == account, "read-only: the status is what Telegram's sends make it"
    assert stored.status is AccountStatus.ACTIVE


async def test_an_unknown_phone_and_an_account_not_connected_are_named():
    _, telegram, check, _ = await _world(connected=False)
    with pytest.raises(UnknownAccount):
        await check.check("+79990000000")
    with pytest.raises(AccountNotConnected):
        await check.check(PHONE)
    assert telegram.spam_bot_asked == []
