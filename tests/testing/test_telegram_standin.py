"""The e2e test hook's adapter speaks the Telegram ports faithfully to the stand-in server."""

from __future__ import annotations

import asyncio

import pytest

from salesbot.application.errors import (
    AccountNotConnected,
    CodeInvalid,
    RecipientUnreachable,
    SessionInvalid,
)
from salesbot.application.ports import IncomingMessage
from salesbot.domain.account import Account
from tests.fakes.standin_client import StandinTelegram
from tests.fakes.telegram_standin import TelegramStandin


@pytest.fixture
async def standin():
    async with TelegramStandin() as server:
        server.add_user("prospect", 5001)
        yield server


@pytest.fixture
async def telegram(standin):
    adapter = StandinTelegram(standin.base_url, poll_timeout=0.2)
    yield adapter
    await adapter.aclose()


def account(phone: str = "+79990000001", account_id: int = 1) -> Account:
    return Account(phone=phone, session_string=f"standin-session:{phone}", id=account_id)


async def test_login_connect_send_and_receive(standin, telegram):
    await telegram.begin_login("+79990000001")
    with pytest.raises(CodeInvalid):
        await telegram.submit_code("+79990000001", "1 1 1 1 1")
    progress = await telegram.submit_code("+79990000001", "1 2 3 4 5")
    assert progress.session_string == "standin-session:+79990000001"

    received: list[IncomingMessage] = []

    async def on_message(message: IncomingMessage) -> None:
        received.append(message)

    telegram.subscribe(on_message)
    await telegram.connect(account(), [])
    assert telegram.connected() == {1}

    peer = await telegram.resolve_username(1, "Prospect")
    sent = await telegram.send_message(1, peer, "Hello!")
    assert standin.sent_to("prospect") == ["Hello!"]

    await standin.write("prospect", "Hi, who is this?")
    for _ in range(100):
        if received:
            break
        await asyncio.sleep(0.01)
    assert [m.text for m in received] == ["Hi, who is this?"]
    assert received[0].user_id == 5001 and received[0].account_id == 1

    history = await telegram.recent_messages(1, peer)
    assert [(h.outgoing, h.text) for h in history] == [
        (False, "Hi, who is this?"),
        (True, "Hello!"),
    ]
    assert history[1].telegram_message_id == sent.telegram_message_id


async def test_errors_come_back_as_the_ports_error_classes(standin, telegram):
    with pytest.raises(SessionInvalid):
        await telegram.connect(Account(phone="+7999", session_string="revoked", id=2), [])
    with pytest.raises(AccountNotConnected):
        await telegram.resolve_username(2, "prospect")
    await telegram.connect(account(), [])
    with pytest.raises(RecipientUnreachable) as caught:
        await telegram.resolve_username(1, "nobody")
    assert caught.value.reason == RecipientUnreachable.NOT_FOUND
