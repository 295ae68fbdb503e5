"""Catch-up after an outage: 200 accounts × 10 open dialogs, each with a message not stored.

The worst case: no update state to ask Telegram a difference from (the first start of this
version, freshly imported accounts, or a DifferenceTooLong after a long outage), so every
account finds its missed messages in its chats' history. The service's container on a
throwaway PostgreSQL (its pool, catch-up, intake and conversation, the SQL units of work
and advisory locks), with Telegram played by the in-memory fake of tests/fakes made
realistic where it matters: every call takes CALL_LATENCY seconds, connecting takes
CONNECT_LATENCY, and each account's reads share the rate limit the kurigram adapter puts
on them (`READS_PER_SECOND`).

Measured from `start_all()` until every missed message is stored: the time, the Telegram
calls per account (those catch-up makes: the chats' newest messages and their history; and,
apart, the read receipts the conversation sends as for any message), and the peak number
of Telegram calls in flight at once. Target (issue 13): all caught up in ≤ 60 s, no more
calls than chats with news plus a constant per account.
Run: `.venv/bin/python -m bench.catch_up [--quick]`.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from aiolimiter import AsyncLimiter

from bench.common import (
    machine,
    parser,
    peak_rss_mb,
    print_result,
    quiet_logging,
    run,
    throwaway_database,
)
from bench.seed import seed_accounts, seed_dialogs, seed_peers
from salesbot.adapters.telegram.accounts import READS_PER_SECOND
from salesbot.application.ports import ChatHistoryItem
from salesbot.domain.account import Account
from salesbot.domain.peer import Peer

ACCOUNTS = 200
DIALOGS_PER_ACCOUNT = 10
CALL_LATENCY = 0.15
CONNECT_LATENCY = 0.5
SESSION_SECRET = "bench-session-secret"  # noqa: S105 - a throwaway database's key


def opener_id(dialog_id: int) -> int:
    """Telegram numbers an account's private messages in one sequence: each chat's opener
    (stored, sent) and, one after it, the prospect's answer salesbot has not seen."""
    return 2 * dialog_id


def slow_telegram() -> Any:
    from tests.fakes import FakeTelegram

    class SlowTelegram(FakeTelegram):
        """The fake with a network in between and the adapter's per-account read limit."""

        def __init__(self) -> None:
            super().__init__()
            self._reads: dict[int, AsyncLimiter] = {}
            self.in_flight = 0
            self.peak_in_flight = 0
            self.receipts: Counter[int] = Counter()

        async def _call(self, account_id: int, *, limited: bool = True) -> None:
            limiter = self._reads.setdefault(account_id, AsyncLimiter(READS_PER_SECOND, 1))
            if limited:
                await limiter.acquire()
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            try:
                await asyncio.sleep(CALL_LATENCY)
            finally:
                self.in_flight -= 1

        async def connect(
            self, account: Account, peers: Sequence[Peer], state: Any = None
        ) -> None:
            await asyncio.sleep(CONNECT_LATENCY)
            await super().connect(account, peers, state)

        async def newest_message_ids(
            self, account_id: int, peers: Sequence[Peer]
        ) -> dict[int, int]:
            for _ in range(0, len(peers), 100):
                await self._call(account_id)
            return await super().newest_message_ids(account_id, peers)

        async def recent_messages(
            self, account_id: int, peer: Peer, *, limit: int = 50
        ) -> list[ChatHistoryItem]:
            await self._call(account_id)
            return await super().recent_messages(account_id, peer, limit=limit)

        async def mark_read(self, account_id: int, peer: Peer) -> None:
            await self._call(account_id)
            self.receipts[account_id] += 1
            await super().mark_read(account_id, peer)

    return SlowTelegram()


async def prepare(dsn: str, accounts: int) -> list[tuple[int, int, int]]:
    import asyncpg

    from salesbot.adapters.persistence import FernetSessionCipher

    cipher = FernetSessionCipher(SESSION_SECRET)
    conn = await asyncpg.connect(dsn)
    try:
        ids = await seed_accounts(conn, accounts, cipher.encrypt)
        dialogs = await seed_dialogs(conn, ids, accounts * DIALOGS_PER_ACCOUNT)
        await seed_peers(conn, dialogs)
        # The opener of each dialog went out before the outage: stored, sent, message 1.
        await conn.executemany(
            "INSERT INTO messages (dialog_id, account_id, direction, content, timestamp, "
            "telegram_message_id, delivery, kind, send_after, sent_at) "
            "VALUES ($1, $2, 'out', 'Hello! A quick question about your shop.', now(), $3, "
            "'sent', 'opener', now(), now())",
            [(dialog, account, opener_id(dialog)) for dialog, account, _ in dialogs],
        )
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return dialogs


async def stored_incoming(engine: Any) -> int:
    from sqlalchemy import text

    async with engine.connect() as conn:
        found = await conn.execute(text("SELECT count(*) FROM messages WHERE direction = 'in'"))
        return int(found.scalar_one())


async def main(quick: bool) -> None:
    from tests.application.conversation_support import answer
    from tests.fakes import FakeLanguageModel, FakeNotifier
    from tests.wiring import container_for, settings_for_tests

    from salesbot.adapters.persistence import create_engine
    from salesbot.application.ports import ChatHistoryItem as Item
    from salesbot.entrypoints.container import resolve, shut_down

    quiet_logging()
    accounts = 20 if quick else ACCOUNTS
    print((await machine()).describe())
    print(
        f"{accounts} accounts × {DIALOGS_PER_ACCOUNT} open dialogs, one missed message each; "
        f"no update state stored; Telegram calls take {CALL_LATENCY * 1000:.0f} ms, "
        f"connecting {CONNECT_LATENCY * 1000:.0f} ms, {READS_PER_SECOND} reads/s per account"
    )
    async with throwaway_database("catch_up") as db:
        dialogs = await prepare(db.dsn, accounts)
        telegram = slow_telegram()
        now = datetime.now(timezone.utc)
        for dialog, account, user in dialogs:
            telegram.add_user(f"prospect_{user - 10_000}", user)
            telegram.history[(account, user)] = [
                Item(opener_id(dialog), True, "Hello! A quick question about your shop.", now),
                Item(opener_id(dialog) + 1, False, "Hi, what is it about?", now),
            ]
        engine = create_engine(db.sqlalchemy_url)
        container = container_for(
            settings_for_tests(SESSION_SECRET=SESSION_SECRET, REPLY_DEBOUNCE_SECONDS=0),
            engine=engine,
            telegram=telegram,
            notifier=FakeNotifier(),
            llm=FakeLanguageModel(default=answer("Thanks! When would a short call suit you?")),
        )
        container.incoming_subscription()
        pool = await resolve(container.pool())
        started = time.perf_counter()
        running = await pool.start_all()
        connected_s = time.perf_counter() - started
        expected = len(dialogs)
        while await stored_incoming(engine) < expected:  # noqa: ASYNC110 - the database's count
            await asyncio.sleep(0.1)
        caught_up_s = time.perf_counter() - started
        await pool.caught_up()
        await pool.stop_all()
        await shut_down(container)
        await engine.dispose()

    calls = [telegram.calls[a]["dialogs"] + telegram.calls[a]["history"] for a in running]
    receipts = [telegram.receipts[a] for a in running]
    print(
        f"{len(running)} accounts connected in {connected_s:.1f} s; all {expected} missed "
        f"messages stored {caught_up_s:.1f} s after start"
    )
    print(
        f"catch-up calls per account: max {max(calls)} (chats with news "
        f"{DIALOGS_PER_ACCOUNT} + {max(calls) - DIALOGS_PER_ACCOUNT}); read receipts per "
        f"account: max {max(receipts)}; peak calls in flight: {telegram.peak_in_flight}"
    )
    print_result(
        "catch_up",
        accounts=len(running),
        dialogs=expected,
        caught_up_s=round(caught_up_s, 1),
        target_s=60,
        calls_per_account=max(calls),
        calls_bound=DIALOGS_PER_ACCOUNT + 1,
        receipts_per_account=max(receipts),
        peak_in_flight=telegram.peak_in_flight,
        peak_rss_mb=round(peak_rss_mb()),
    )


if __name__ == "__main__":
    args = parser(__doc__.splitlines()[0]).parse_args()
    run(main(args.quick))
