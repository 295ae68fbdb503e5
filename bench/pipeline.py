"""Messages per second through the whole pipeline, and what it costs over the bare SQL.

N incoming messages over M dialogs go through `IncomingMessages.handle` (store, opt-out
check, debounce of 0 s) -> the reply (a zero-latency fake model answering in the JSON the
engine asks for) -> the outbox -> `Dispatcher.dispatch_once` (quota reserved atomically,
fake Telegram with no typing delay) -> `sent`, on a real PostgreSQL database. Everything is
built by the service's container (`entrypoints.container.Container`, through
`tests.wiring.container_for`): the real engine, units of work and query ports, with fake
Telegram, model, notifier and account locks, the system clock, no typing pause and no
jitter between sends. Every account has a worker that feeds its own dialogs one message at
a time and waits for the reply to be sent, so the per-message figure is the system's
overhead, not queueing for a slow peer.

The quota is the highest the settings allow (MAX_DAILY_MESSAGES=1000 per account and day,
no minimum delay, no warm-up). Each mode sends fewer than that through its busiest account
(the run prints how many, 455 in a full run, and refuses to start if a size would need
more), so the quota never refuses a send; the baseline's SQL reserves against the same
limit, and the accounts' counters are reset between the baseline and the pipeline.

The baseline does the minimal SQL of one message with raw asyncpg in the same run: insert
the incoming message and the pending reply (one transaction), then reserve the quota and mark
the reply sent (a second transaction). Its rate and the ratio to it are shown as
information. Targets: overhead p99 <= 20 ms (one message alone), >= 200 messages/s with
durable commits on 2 cores.
Run: `.venv/bin/python -m bench.pipeline [--quick]` (`--profile` prints where time goes).
"""

from __future__ import annotations

import asyncio
import cProfile
import itertools
import json
import pstats
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from salesbot.application.conversation.answer_prospect import DialogReplier
    from salesbot.entrypoints.settings import Settings

SESSION_SECRET = "bench-session-secret"  # noqa: S105 - a throwaway database's key
DAILY_QUOTA = 1000  # MAX_DAILY_MESSAGES at its maximum
WARM_UP = 5  # messages per worker before measuring
TARGET_P99_MS = 20
TARGET_MSGS_PER_S = 200
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


class SignallingReplier:
    """The container's replier, telling the bench when a dialog's reply is queued."""

    def __init__(self, replier: DialogReplier, replied: dict[int, asyncio.Event]) -> None:
        self._replier = replier
        self._replied = replied

    async def read_context(self, *args: Any, **kwargs: Any) -> Any:
        return await self._replier.read_context(*args, **kwargs)

    async def reply(self, dialog_id: int, **kwargs: Any) -> bool:
        done = await self._replier.reply(dialog_id, **kwargs)
        self._replied.setdefault(dialog_id, asyncio.Event()).set()
        return done


def bench_settings() -> Settings:
    """What the pipeline runs with: no delays, no warm-up, the highest daily quota."""
    from tests.wiring import settings_for_tests

    return settings_for_tests(
        MAX_DAILY_MESSAGES=DAILY_QUOTA,
        MIN_MESSAGE_DELAY=0,
        REPLY_DEBOUNCE_SECONDS=0,
        WARMUP_DAYS=0,
        SALES_PROMPT_FILE=PROMPT,
        SESSION_SECRET=SESSION_SECRET,
        TIMEZONE="UTC",
    )


class Pipeline:
    """The real use-cases on the real database, built by the service's container, with fake
    Telegram and a fake model."""

    def __init__(self, dsn: str, pool_size: int) -> None:
        self.dsn = dsn
        self.pool_size = pool_size
        self.replied: dict[int, asyncio.Event] = {}

    async def open(self) -> None:
        from dependency_injector import providers
        from tests.application.telegram_world import FakeLocks
        from tests.fakes import FakeLanguageModel, FakeNotifier, FakeTelegram
        from tests.wiring import container_for

        from salesbot.adapters.persistence import create_engine
        from salesbot.adapters.system_clock import SystemClock
        from salesbot.application.outbox.typing_pace import NO_TYPING
        from salesbot.entrypoints.container import resolve
        from salesbot.entrypoints.timing import Timing

        self.engine = create_engine(self.dsn, pool_size=self.pool_size)
        clock = SystemClock()
        self.telegram = FakeTelegram(clock)
        self.container = container = container_for(
            bench_settings(),
            engine=self.engine,
            telegram=self.telegram,
            llm=FakeLanguageModel(default=REPLY),
            notifier=FakeNotifier(),
            clock=clock,
            locks=FakeLocks(),
            timing=Timing(typing=NO_TYPING, send_gap_jitter=0),
        )
        # The container's own replier, wrapped: what builds on it (IncomingMessages) gets
        # the wrapper.
        container.replier.override(
            providers.Object(SignallingReplier(container.replier(), self.replied))
        )
        self.incoming = container.incoming()
        self.dispatcher = container.dispatcher()
        # Every private message of every account goes to IncomingMessages.handle, as in
        # `salesbot run`.
        await resolve(container.incoming_subscription())
        # Connect every account to the fake Telegram, with its peers, as the pool would.
        await container.pool().start_all()

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
        from salesbot.entrypoints.container import shut_down

        await self.incoming.aclose()
        await shut_down(self.container)
        await self.engine.dispose()


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
                    self.RESERVE, account_id, datetime.now(timezone.utc).date(), DAILY_QUOTA
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
    await drive(system.one, workers, WARM_UP)  # warm-up: caches, pools, prepared statements
    _, solo = await drive(system.one, workers[:1], solo_count(total))
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
    await _reset_quota(db_dsn)
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
    busiest = sends_per_account(accounts, max(durable_total, fast_total))
    if busiest > DAILY_QUOTA:
        raise SystemExit(
            f"{busiest} sends on one account would run out of the daily quota ({DAILY_QUOTA})"
        )
    print((await machine()).describe())
    print(
        f"incoming messages over {dialogs:,} dialogs of {accounts} accounts, one worker per "
        f"account; every message gets a reply sent (at most {busiest} per account and mode, "
        f"daily quota {DAILY_QUOTA})"
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
    met = d["p99"] <= TARGET_P99_MS and d["rate"] >= TARGET_MSGS_PER_S
    print(
        f"targets (durable): overhead p99 <= {TARGET_P99_MS} ms ({d['p99']:.1f} ms), "
        f">= {TARGET_MSGS_PER_S} msgs/s ({d['rate']:,.0f}): {'met' if met else 'MISSED'}"
    )
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


async def _reset_quota(dsn: str) -> None:
    """The baseline's sends were counted on the accounts: the pipeline starts from none."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("UPDATE accounts SET daily_messages = 0, quota_day = NULL")
    finally:
        await conn.close()


def sends_per_account(accounts: int, total: int) -> int:
    """What `measure` sends through the busiest account (the first: it also runs the
    solo pass)."""
    return WARM_UP + solo_count(total) + total // accounts


def solo_count(total: int) -> int:
    return max(40, total // 20)


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
