"""At shutdown the dispatcher's Telegram calls under way finish and no new one starts."""

from __future__ import annotations

import asyncio

from salesbot.domain.account import Account
from salesbot.domain.peer import Peer
from salesbot.entrypoints.draining import DrainingMessenger
from tests.fakes import FakeTelegram

PEER = Peer(account_id=1, username="prospect", user_id=5001, access_hash=1)


async def connected_telegram() -> FakeTelegram:
    telegram = FakeTelegram()
    await telegram.connect(Account(phone="+79990000001", session_string="s", id=1), [])
    return telegram


async def test_a_send_under_way_finishes_and_a_later_one_never_starts():
    telegram = await connected_telegram()
    telegram.send_gate = asyncio.Event()
    messenger = DrainingMessenger(telegram)
    under_way = asyncio.create_task(messenger.send_message(1, PEER, "first"))
    await asyncio.sleep(0)
    assert messenger.in_flight == 1

    draining = asyncio.create_task(messenger.drain(timeout=5))
    later = asyncio.create_task(messenger.send_message(1, PEER, "second"))
    await asyncio.sleep(0.01)
    assert not draining.done()
    telegram.send_gate.set()

    assert await draining is True
    assert (await under_way).telegram_message_id == 1
    await asyncio.sleep(0.01)
    assert not later.done()
    later.cancel()
    assert telegram.sent_to(5001) == ["first"]


async def test_drain_gives_up_after_its_timeout():
    telegram = await connected_telegram()
    telegram.send_gate = asyncio.Event()
    messenger = DrainingMessenger(telegram)
    stuck = asyncio.create_task(messenger.send_message(1, PEER, "stuck"))
    await asyncio.sleep(0)

    assert await messenger.drain(timeout=0.01) is False
    stuck.cancel()
