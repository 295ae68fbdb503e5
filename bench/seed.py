"""Fill a benchmark database fast: accounts, dialogs and messages through COPY (asyncpg).

Rows go straight into the migrated schema, bypassing the repositories: seeding a million
messages through the unit of work would take longer than the benchmark it prepares. The
dialogs' counters of what was said (messages_sent, openers_sent, messages_received) are
kept by the database's statement-level triggers (revision 0006), which fire for COPY too:
the seed never writes them. Messages alternate between the prospect and us (ours `sent`),
with realistic lengths.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import asyncpg

EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)

_PHRASES = (
    "Здравствуйте! Подскажите, пожалуйста, сколько стоит подключение для команды из десяти "
    "человек?",
    "Good afternoon, we looked at the proposal and have a couple of questions about delivery.",
    "Да, интересно. А есть ли пробный период и можно ли перенести данные из нашей CRM?",
    "Thanks, that helps. Can you send the price list and the contract template?",
    "Понимаю ваш вопрос. Пробный период — 14 дней, перенос данных мы берём на себя, это "
    "обычно занимает один-два дня. Удобно созвониться в четверг?",
    "Sure — the standard plan is $49 per seat per month, billed yearly; I can send the "
    "template today.",
    "Ок",
    "Сейчас неудобно, напишите, пожалуйста, через неделю.",
)


@dataclass(frozen=True)
class Seeded:
    accounts: int
    dialogs: int
    messages: int
    big_dialog_id: int | None


def _plain(text: str) -> str:
    return text


async def seed_accounts(
    conn: asyncpg.Connection, count: int, encrypt: Callable[[str], str] = _plain
) -> list[int]:
    """`count` active accounts; session strings stored as `encrypt` makes them."""
    rows = [
        (f"+7999{index:07d}", encrypt(f"bench-session-{index}"), "active", 0)
        for index in range(1, count + 1)
    ]
    await conn.copy_records_to_table(
        "accounts",
        records=rows,
        columns=["phone", "session_string", "status", "daily_messages"],
    )
    return [r["id"] for r in await conn.fetch("SELECT id FROM accounts ORDER BY id")]


async def seed_dialogs(
    conn: asyncpg.Connection, account_ids: list[int], count: int, *, first_user_id: int = 10_000
) -> list[tuple[int, int, int]]:
    """`count` active dialogs spread over the accounts; returns (dialog id, account, user)."""

    def rows() -> Iterator[tuple[object, ...]]:
        for index in range(count):
            account = account_ids[index % len(account_ids)]
            moment = EPOCH + timedelta(seconds=index)
            yield (
                account,
                f"prospect_{index}",
                "active",
                first_user_id + index,
                moment,
                moment,
                f"lead {index} from the conference list",
            )

    await conn.copy_records_to_table(
        "dialogs",
        records=rows(),
        columns=[
            "account_id",
            "target_username",
            "status",
            "target_user_id",
            "created_at",
            "last_activity_at",
            "notes",
        ],
    )
    found = await conn.fetch("SELECT id, account_id, target_user_id FROM dialogs ORDER BY id")
    return [(r["id"], r["account_id"], r["target_user_id"]) for r in found]


async def seed_peers(conn: asyncpg.Connection, dialogs: list[tuple[int, int, int]]) -> None:
    await conn.copy_records_to_table(
        "peers",
        records=[
            (account, f"prospect_{user - 10_000}", user, user * 7919)
            for _, account, user in dialogs
        ],
        columns=["account_id", "username", "user_id", "access_hash"],
    )


def _message_rows(
    dialogs: list[tuple[int, int, int]], per_dialog: list[int], rng: random.Random
) -> Iterator[tuple[object, ...]]:
    telegram_id = 0
    for (dialog_id, account, _), count in zip(dialogs, per_dialog, strict=True):
        moment = EPOCH + timedelta(minutes=dialog_id)
        for index in range(count):
            telegram_id += 1
            moment += timedelta(seconds=30 + rng.randrange(600))
            text = _PHRASES[rng.randrange(len(_PHRASES))]
            if index % 2:
                yield (dialog_id, account, "in", text, moment, telegram_id, None, None, None, None)
            else:
                kind = "opener" if index == 0 else "reply"
                yield (
                    dialog_id, account, "out", text, moment, telegram_id, "sent", kind, moment,
                    moment,
                )


async def seed_messages(
    conn: asyncpg.Connection,
    dialogs: list[tuple[int, int, int]],
    total: int,
    *,
    big_dialog: int = 0,
    seed: int = 1,
) -> int:
    """`total` messages: `big_dialog` of them in the first dialog, the rest spread evenly."""
    rng = random.Random(seed)
    rest = total - big_dialog
    others = len(dialogs) - (1 if big_dialog else 0)
    per_dialog = [rest // others + (1 if i < rest % others else 0) for i in range(others)]
    if big_dialog:
        per_dialog = [big_dialog, *per_dialog]
    await conn.copy_records_to_table(
        "messages",
        records=_message_rows(dialogs, per_dialog, rng),
        columns=[
            "dialog_id",
            "account_id",
            "direction",
            "content",
            "timestamp",
            "telegram_message_id",
            "delivery",
            "kind",
            "send_after",
            "sent_at",
        ],
    )
    return total


async def pack_dialogs(conn: asyncpg.Connection) -> None:
    """The COPY's trigger rewrote every dialog's counters, leaving a dead copy of each:
    VACUUM FULL packs the table again, so the admin's reads meet a table as compact as one
    that grew message by message."""
    await conn.execute("VACUUM FULL dialogs")


async def seed(
    dsn: str,
    *,
    accounts: int,
    dialogs: int,
    messages: int,
    big_dialog: int = 0,
    encrypt: Callable[[str], str] = _plain,
) -> Seeded:
    conn = await asyncpg.connect(dsn)
    try:
        account_ids = await seed_accounts(conn, accounts, encrypt)
        dialog_rows = await seed_dialogs(conn, account_ids, dialogs)
        await seed_peers(conn, dialog_rows)
        if messages:
            await seed_messages(conn, dialog_rows, messages, big_dialog=big_dialog)
            await pack_dialogs(conn)
        # What autovacuum would have done by the time anyone queries this much data.
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return Seeded(
        accounts=accounts,
        dialogs=dialogs,
        messages=messages,
        big_dialog_id=dialog_rows[0][0] if big_dialog else None,
    )
