"""Asking @SpamBot through PyrogramAccounts, against the stand-in client."""

from __future__ import annotations

import pytest
from pyrogram import errors as tg

from salesbot.adapters.telegram import PyrogramAccounts
from salesbot.application.errors import AccountNotConnected, RateLimited, TelegramUnavailable
from tests.adapters.telegram.client_stand_in import StandInTelegram
from tests.adapters.telegram.test_accounts import SESSION, account, no_sleep
from tests.secrets import API_HASH, API_ID

SPAM_BOT_ID = 178220800
FREE = "Good news, no limits are currently applied to your account. You’re free as a bird!"


@pytest.fixture
def telegram() -> StandInTelegram:
    server = StandInTelegram()
    server.add_user("SpamBot", SPAM_BOT_ID)
    return server


@pytest.fixture
async def accounts(telegram: StandInTelegram) -> PyrogramAccounts:
    accounts = PyrogramAccounts(
        API_ID, API_HASH, client_factory=telegram.factory, sleep=no_sleep, reads_per_second=1000
    )
    await accounts.connect(account(), [])
    return accounts


async def test_start_is_sent_to_spambot_and_its_answer_comes_back(telegram, accounts):
    telegram.bot_answers[SPAM_BOT_ID].append(FREE)
    assert await accounts.ask_spam_bot(1) == FREE
    assert telegram.sent == [(SESSION, SPAM_BOT_ID, "/start")]


async def test_no_answer_in_time_is_unavailable(telegram, accounts):
    with pytest.raises(TelegramUnavailable, match="did not answer"):
        await accounts.ask_spam_bot(1)


async def test_an_account_not_connected_and_a_flood_wait_are_named(telegram, accounts):
    with pytest.raises(AccountNotConnected):
        await accounts.ask_spam_bot(2)
    telegram.client(SESSION).fail("send_message", tg.FloodWait(value=30))
    with pytest.raises(RateLimited):
        await accounts.ask_spam_bot(1)
