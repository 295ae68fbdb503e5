"""Revision 0003 counts what databases already hold: /stats of all time is right at once
after the upgrade (PostgreSQL and SQLite), and keeps counting afterwards."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert

from salesbot.adapters.persistence import create_engine, run_migrations, sql_uow_factory
from salesbot.adapters.persistence.models import accounts, dialogs, messages
from salesbot.adapters.persistence.queries import SqlStatsQuery
from salesbot.application.admin.queries import AccountStats
from salesbot.domain.message import Message
from tests.secrets import SESSION_STRING

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)
EVER = {
    "since": datetime(2000, 1, 1, tzinfo=timezone.utc),
    "until": datetime(2100, 1, 1, tzinfo=timezone.utc),
}


def _message(dialog_id, account_id, direction, minute, delivery=None, kind=None, tg=None):
    moment = T0 + timedelta(minutes=minute)
    return {
        "dialog_id": dialog_id,
        "account_id": account_id,
        "direction": direction,
        "content": "text",
        "timestamp": moment,
        "telegram_message_id": tg,
        "delivery": delivery,
        "kind": kind,
        "send_after": moment if direction == "out" else None,
        "sent_at": moment if delivery == "sent" else None,
    }


# Written as revision 0002 knew the tables: no counters.
ACCOUNTS = [
    {"id": i, "phone": f"+7900000000{i}", "session_string": SESSION_STRING} for i in (1, 2, 3)
]
DIALOGS = [
    {"id": 1, "account_id": 1, "target_username": "ann_buyer", "outcome": "goal"},
    {"id": 2, "account_id": 1, "target_username": "bob_buyer", "status": "opted_out"},
    {"id": 3, "account_id": 2, "target_username": "cid_buyer"},
    {"id": 4, "account_id": 2, "target_username": "dan_buyer"},
]
MESSAGES = [
    _message(1, 1, "out", 0, "sent", "opener"),
    _message(1, 1, "in", 1, tg=11),
    _message(1, 1, "in", 2, tg=12),
    _message(1, 1, "out", 3, "sent", "reply"),
    _message(1, 1, "out", 4, "pending", "reply"),
    _message(1, 1, "out", 5, "failed", "follow_up"),
    _message(1, 1, "out", 6, "cancelled", "reply"),
    _message(1, 1, "out", 7, "sending", "reply"),
    _message(2, 1, "out", 0, "sent", "opener"),
    _message(2, 1, "in", 8, tg=21),
    _message(3, 2, "out", 0, "failed", "opener"),
    _message(3, 2, "out", 9, "sent", "opener"),
    _message(3, 2, "out", 10, "sent", "manual"),
]
EXPECTED = [
    # openers, sent, received, dialogs replied, goals, opt-outs
    AccountStats(1, "+79000000001", 2, 3, 3, 2, 1, 1),
    AccountStats(2, "+79000000002", 1, 2, 0, 0, 0, 0),
    AccountStats(3, "+79000000003", 0, 0, 0, 0, 0, 0),
]


async def _fill_at_0002(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(accounts), ACCOUNTS)
            for dialog in DIALOGS:  # each with only the columns it names
                await connection.execute(insert(dialogs).values(created_at=T0, **dialog))
            await connection.execute(insert(messages), MESSAGES)
    finally:
        await engine.dispose()


async def _check_after_upgrade(url: str, cipher) -> None:
    engine = create_engine(url)
    stats = SqlStatsQuery(engine)
    try:
        assert await stats.per_account() == EXPECTED
        assert await stats.per_account(**EVER) == EXPECTED
        async with sql_uow_factory(engine, cipher)() as uow:
            # And the statements count from there on: dan writes back.
            message = Message.incoming(4, 2, "hello", T0 + timedelta(hours=1), 41)
            assert await uow.messages.add_incoming(message) is not None
            await uow.commit()
        second = (await stats.per_account())[1]
        assert (second.messages_received, second.dialogs_replied) == (1, 1)
    finally:
        await engine.dispose()


def _backfill(url: str, cipher) -> None:
    run_migrations(url, "0002")
    asyncio.run(_fill_at_0002(url))
    run_migrations(url)
    asyncio.run(_check_after_upgrade(url, cipher))


def test_postgresql_upgrade_counts_the_messages_already_stored(empty_pg_url, session_cipher):
    _backfill(empty_pg_url, session_cipher)
