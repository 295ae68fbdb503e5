"""Messages per second through the whole pipeline, and what it costs over the bare SQL.

N incoming messages over M dialogs go through `IncomingMessages.handle` (store, opt-out
check, debounce of 0 s) -> the reply (a zero-latency fake model answering in the JSON the
engine asks for) -> the outbox -> `Dispatcher.dispatch_once` (quota reserved atomically,
fake Telegram with no typing delay) -> `sent`, on a real PostgreSQL database. Every account
has a worker that feeds its own dialogs one message at a time and waits for the reply to be
sent, so the per-message figure is the system's overhead, not queueing for a slow peer.

The baseline does the minimal SQL of one message with raw asyncpg in the same run: insert
the incoming message and the pending reply (one transaction), then reserve the quota and mark
the reply sent (a second transaction). Targets: >= 1,000 messages/s on 2 cores, p99 <= 10 ms,
ratio to the baseline <= 3.
Run: `.venv/bin/python -m bench.pipeline [--quick]` (`--profile` prints where time goes).
"""

from __future__ import annotations

import asyncio
import cProfile
import itertools
import json
import pstats
import time
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime, timedelta, timezone
from pathlib import Path

import asyncpg

from bench.common import (
    BenchDatabase,
    Latencies,
    machine,
    parser,
    print_result,
    quiet_logging,
    run,
    throwaway_database,
)
from bench.seed import seed

SESSION_SECRET = "bench-session-secret"  # noqa: S105 - a throwaway database's key
REPLY = json.dumps(
    {
        "reply": "Понимаю. Давайте я коротко расскажу, как это работает, и вы решите, "
        "интересно ли созвониться на 15 минут?",
        "stage": "qualification",
        "warmth": 40,
        "outcome": "continue",
        "summary": "Интересуется ценой\nДальше: предложить звонок",
    },
    ensure_ascii=False,
)
PROMPT = Path(__file__).resolve().parent.parent / "src/salesbot/data/sales_prompt.ru.md"
_RAW_IDS = itertools.count(10**9)  # the baseline's Telegram message ids, unique across runs
TEXTS = (
    "Здравствуйте, а сколько это стоит?",
    "Интересно, расскажите подробнее",
    "А есть пробный период?",
    "Мы уже пользуемся другим сервисом",
)


class _Worker:
    """One account's prospects writing, one message at a time."""

    def __init__(self, account_id: int, users: list[tuple[int, int]]) -> None:
        self.account_id = account_id
        self.users = users  # (dialog id, Telegram user id)


class Pipeline:
    """The real use-cases on the real database, with fake Telegram and a fake model."""

    def __init__(self, dsn: str, pool_size: int) -> None:
        self.dsn = dsn
        self.pool_size = pool_size
        self.replied: dict[int, asyncio.Event] = {}

    async def open(self) -> None:
        from tests.fakes import FakeLanguageModel, FakeNotifier, FakeTelegram

        from salesbot.adapters.persistence import (
            FernetSessionCipher,
            create_engine,
            sql_uow_factory,
        )
        from salesbot.adapters.system_clock import SystemClock
        from salesbot.application.accounts.run_accounts import AccountPool
        from salesbot.application.conversation.engine import ConversationConfig, build_conversation
        from salesbot.application.conversation.receive_message import IncomingMessages
        from salesbot.application.outbox.dispatch import NO_TYPING, Dispatcher
        from salesbot.domain.quota import SendQuota

        self.engine = create_engine(
            self.dsn.replace("postgresql://", "postgresql+asyncpg://", 1),
            pool_size=self.pool_size,
        )
        uow_factory = sql_uow_factory(self.engine, FernetSessionCipher(SESSION_SECRET))
        clock = SystemClock()
        self.telegram = FakeTelegram(clock)
        notifier = FakeNotifier()
        quota = SendQuota(max_daily=10**9, min_delay=timedelta(0), tz=timezone.utc)
        conversation = build_conversation(
            uow_factory=uow_factory,
            connections=self.telegram,
            messenger=self.telegram,
            llm=FakeLanguageModel(default=REPLY),
            notifier=notifier,
            clock=clock,
            config=ConversationConfig(prompt_file=PROMPT, quota=quota, debounce_seconds=0),
        )
        pipeline = self

        class SignallingReplier:
            """The engine's replier, telling the bench when a dialog's reply is queued."""

            async def read_context(self, *args: object) -> object:
                return await conversation.replier.read_context(*args)  # type: ignore[arg-type]

            async def reply(self, dialog_id: int, **kwargs: object) -> bool:
                done = await conversation.replier.reply(dialog_id, **kwargs)  # type: ignore[arg-type]
                pipeline.replied.setdefault(dialog_id, asyncio.Event()).set()
                return done

        self.incoming = IncomingMessages(
            uow_factory,
            SignallingReplier(),  # type: ignore[arg-type]
            self.telegram,
            notifier,
            clock,
            debounce_seconds=0,
        )
        pool = AccountPool(uow_factory, self.telegram, _NoLocks(), notifier, clock)
        self.dispatcher = Dispatcher(
            uow_factory,
            self.telegram,
            pool,
            notifier,
            clock,
            quota,
            typing=NO_TYPING,
            send_gap_jitter=0,
        )
        self.telegram.subscribe(self.incoming.handle)
        # Connect every account to the fake Telegram, with its peers, as the pool would.
        await pool.start_all()

    async def one(self, account_id: int, dialog_id: int, user_id: int, text: str) -> float:
        started = time.perf_counter()
        event = self.replied.setdefault(dialog_id, asyncio.Event())
        event.clear()
        # The prospect writes: Telegram numbers it in the account's sequence and hands it to
        # IncomingMessages.handle, as the account pool's subscription does.
        await self.telegram.deliver(account_id, user_id, text)
        await asyncio.wait_for(event.wait(), 60)
        for _ in range(100):
            if await self.dispatcher.dispatch_once(account_id):
                return time.perf_counter() - started
        raise RuntimeError(f"account {account_id}: the reply to dialog {dialog_id} never went")

    async def close(self) -> None:
        await self.incoming.aclose()
        await self.engine.dispose()


class _NoLocks:
    async def try_acquire(self, account_id: int) -> bool:
        return True

    async def still_held(self, account_ids: Collection[int]) -> set[int]:
        return set(account_ids)

    async def release(self, account_id: int) -> None:
        pass


class RawBaseline:
    """The minimal SQL of one message through asyncpg: nothing an ORM or a use-case adds."""

    INSERT_IN = """
        INSERT INTO messages (dialog_id, account_id, direction, content, timestamp,
                              telegram_message_id)
        VALUES ($1, $2, 'in', $3, now(), $4)
        ON CONFLICT (account_id, telegram_message_id) DO NOTHING"""
    INSERT_OUT = """
        INSERT INTO messages (dialog_id, account_id, direction, content, timestamp,
                              delivery, kind, send_after)
        VALUES ($1, $2, 'out', $3, now(), 'pending', 'reply', now()) RETURNING id"""
    RESERVE = """
        UPDATE accounts SET daily_messages = CASE WHEN quota_day = $2 THEN daily_messages + 1
                                                  ELSE 1 END,
                            quota_day = $2, last_used = now()
        WHERE id = $1 AND status = 'active'
          AND (quota_day IS DISTINCT FROM $2 OR daily_messages < $3)"""
    MARK_SENT = """
        UPDATE messages SET delivery = 'sent', telegram_message_id = $2, sent_at = now()
        WHERE id = $1"""

    def __init__(self, dsn: str, pool_size: int) -> None:
        self.dsn = dsn
        self.pool_size = pool_size
        self.ids = _RAW_IDS

    async def open(self) -> None:
        # No reset query when a connection goes back to the pool: it would be a fifth round
        # trip per message that the minimal SQL does not need (the pipeline's pool sends
        # none either).
        self.pool = await asyncpg.create_pool(
            self.dsn, min_size=2, max_size=self.pool_size, reset=_no_reset
        )

    async def one(self, account_id: int, dialog_id: int, user_id: int, text: str) -> float:
        started = time.perf_counter()
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                await conn.execute(self.INSERT_IN, dialog_id, account_id, text, next(self.ids))
                out_id = await conn.fetchval(self.INSERT_OUT, dialog_id, account_id, REPLY)
            async with conn.transaction():
                await conn.execute(
                    self.RESERVE, account_id, datetime.now(timezone.utc).date(), 10**9
                )
                await conn.execute(self.MARK_SENT, out_id, next(self.ids))
        return time.perf_counter() - started

    async def close(self) -> None:
        await self.pool.close()


async def _no_reset(connection: asyncpg.Connection) -> None:
    return None


One = Callable[[int, int, int, str], Awaitable[float]]


async def drive(one: One, workers: list[_Worker], per_worker: int) -> tuple[float, Latencies]:
    """Every worker sends `per_worker` messages, one after the other; all workers at once."""
    lat = Latencies()

    async def work(worker: _Worker) -> None:
        for index in range(per_worker):
            dialog_id, user_id = worker.users[index % len(worker.users)]
            lat.add(await one(worker.account_id, dialog_id, user_id, TEXTS[index % len(TEXTS)]))

    started = time.perf_counter()
    await asyncio.gather(*(work(w) for w in workers))
    return time.perf_counter() - started, lat


async def measure(
    label: str, system: Pipeline | RawBaseline, workers: list[_Worker], total: int
) -> tuple[float, Latencies, Latencies]:
    """Throughput with every worker busy; overhead per message with one worker alone."""
    await drive(system.one, workers, 5)  # warm-up: caches, pools, prepared statements
    _, solo = await drive(system.one, workers[:1], max(40, total // 20))
    cpu = time.process_time()
    wall, loaded = await drive(system.one, workers, total // len(workers))
    cpu_ms = (time.process_time() - cpu) / len(loaded.samples) * 1000
    rate = len(loaded.samples) / wall
    print(
        f"{label:<9} {rate:8,.0f} msgs/s | overhead alone: {solo.summary()} "
        f"| under load: p50={loaded.ms(50):.1f} ms p99={loaded.ms(99):.1f} ms "
        f"| this process's CPU: {cpu_ms:.2f} ms per message"
    )
    solo.cpu_ms = cpu_ms  # type: ignore[attr-defined]
    return rate, solo, loaded


async def run_mode(
    db_dsn: str, workers: list[_Worker], accounts: int, total: int, profile: bool
) -> dict[str, float]:
    raw = RawBaseline(db_dsn, pool_size=accounts)
    await raw.open()
    try:
        raw_rate, raw_solo, raw_loaded = await measure("raw SQL", raw, workers, total)
    finally:
        await raw.close()
    pipeline = Pipeline(db_dsn, pool_size=accounts)
    await pipeline.open()
    profiler = cProfile.Profile() if profile else None
    try:
        if profiler:
            profiler.enable()
        rate, solo, loaded = await measure("salesbot", pipeline, workers, total)
        if profiler:
            profiler.disable()
    finally:
        await pipeline.close()
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    return {
        "rate": rate,
        "p50": solo.ms(50),
        "p99": solo.ms(99),
        "p99_loaded": loaded.ms(99),
        "raw_rate": raw_rate,
        "raw_p50": raw_solo.ms(50),
        "raw_p99": raw_solo.ms(99),
        "raw_p99_loaded": raw_loaded.ms(99),
        "ratio": raw_rate / rate,
        "cpu_ms": solo.cpu_ms,  # type: ignore[attr-defined]
        "raw_cpu_ms": raw_solo.cpu_ms,  # type: ignore[attr-defined]
    }





async def main(quick: bool, profile: bool) -> None:
    quiet_logging()
    accounts, dialogs = (8, 400) if quick else (16, 2_000)
    durable_total, fast_total = (160, 240) if quick else (2_000, 4_000)
    print((await machine()).describe())
    print(
        f"incoming messages over {dialogs:,} dialogs of {accounts} accounts, one worker per "
        "account; every message gets a reply sent"
    )
    figures: dict[str, dict[str, float]] = {}
    for mode, total in (("durable", durable_total), ("fast", fast_total)):
        # A fresh database per mode: Telegram's message numbering starts again with it.
        async with throwaway_database("pipeline") as db:
            workers, commit_ms = await _prepare(
                db, accounts, dialogs, durable=mode == "durable"
            )
            if mode == "durable":
                print(f"one durable commit on this machine's disk takes {commit_ms:.1f} ms")
                print(f"-- durable commits (synchronous_commit=on), {total:,} messages")
            else:
                print(f"-- synchronous_commit=off (the software's cost), {total:,} messages")
            figures[mode] = await run_mode(
                db.dsn, workers, accounts, total, profile and mode == "fast"
            )
            figures[mode]["commit_ms"] = commit_ms
    print()
    print(
        "| commits | system | msgs/s | overhead p50 | overhead p99 | p99 under load "
        "| client CPU per message |"
    )
    print("|---|---|---|---|---|---|---|")
    for mode, name in (("durable", "durable"), ("fast", "synchronous_commit=off")):
        f = figures[mode]
        print(
            f"| {name} | salesbot pipeline | {f['rate']:,.0f} | {f['p50']:.1f} ms "
            f"| {f['p99']:.1f} ms | {f['p99_loaded']:.1f} ms | {f['cpu_ms']:.2f} ms |"
        )
        print(
            f"| {name} | raw asyncpg baseline | {f['raw_rate']:,.0f} | {f['raw_p50']:.1f} ms "
            f"| {f['raw_p99']:.1f} ms | {f['raw_p99_loaded']:.1f} ms | {f['raw_cpu_ms']:.2f} ms |"
        )
        print(f"| {name} | ratio (baseline / pipeline msgs/s) | {f['ratio']:.2f} | | | | |")
    d, f = figures["durable"], figures["fast"]
    print_result(
        "pipeline",
        msgs_per_s=round(d["rate"]),
        p50_ms=round(d["p50"], 2),
        p99_ms=round(d["p99"], 2),
        ratio_vs_raw=round(d["ratio"], 2),
        raw_msgs_per_s=round(d["raw_rate"]),
        nofsync_msgs_per_s=round(f["rate"]),
        nofsync_p99_ms=round(f["p99"], 2),
        nofsync_ratio_vs_raw=round(f["ratio"], 2),
        nofsync_raw_msgs_per_s=round(f["raw_rate"]),
        cpu_ms_per_msg=round(f["cpu_ms"], 2),
        commit_ms=round(d["commit_ms"], 2),
    )


async def _prepare(
    db: BenchDatabase, accounts: int, dialogs: int, *, durable: bool
) -> tuple[list[_Worker], float]:
    from salesbot.adapters.persistence import FernetSessionCipher

    await seed(
        db.dsn,
        accounts=accounts,
        dialogs=dialogs,
        messages=0,
        encrypt=FernetSessionCipher(SESSION_SECRET).encrypt,
    )
    conn = await asyncpg.connect(db.dsn)
    try:
        rows = await conn.fetch("SELECT id, account_id, target_user_id FROM dialogs ORDER BY id")
        commit_ms = await _commit_ms(conn)
        if not durable:
            await conn.execute(f'ALTER DATABASE "{db.name}" SET synchronous_commit = off')
    finally:
        await conn.close()
    by_account: dict[int, list[tuple[int, int]]] = {}
    for row in rows:
        by_account.setdefault(row["account_id"], []).append((row["id"], row["target_user_id"]))
    return [_Worker(a, users) for a, users in sorted(by_account.items())], commit_ms


async def _commit_ms(conn: asyncpg.Connection) -> float:
    """How long one durable commit of a tiny transaction takes (disk flush latency)."""
    await conn.execute("CREATE TABLE bench_probe (x int)")
    started = time.perf_counter()
    for _ in range(50):
        async with conn.transaction():
            await conn.execute("INSERT INTO bench_probe VALUES (1)")
    elapsed = (time.perf_counter() - started) / 50 * 1000
    await conn.execute("DROP TABLE bench_probe")
    return elapsed


if __name__ == "__main__":
    cli = parser(__doc__.splitlines()[0])
    cli.add_argument("--profile", action="store_true", help="cProfile the pipeline's run")
    args = cli.parse_args()
    run(main(args.quick, args.profile))
