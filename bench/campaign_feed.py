"""The campaign feeder's cost per started lead, at 100 and at 10,000 queued leads.

A campaign of N queued leads in a fresh PostgreSQL database, 10 connected accounts, the
model and Telegram replaced by zero-latency fakes (tests/fakes), the feeder and
StartDialogHandler as the service's container builds them (real SQL repositories). The
feeder's rounds are timed until `leads` leads are started (a few rounds first, not
counted, warm the connections and caches); every SQL statement the engine sends is
counted (a SQLAlchemy `before_cursor_execute` event: BEGIN/COMMIT are not in it). The
quota and the resolve pace are opened wide (no minimum delay, no resolve interval) so each
round starts one lead per account: what is measured is the feeder's own work per lead
(choosing the accounts, claiming the lead, the checks, storing the dialog, opener and
lead), not the waiting it is there to do. Target: the cost does not grow with the
campaign's size (the claim reads one entry of the partial index ix_campaign_leads_queued).
Run: `.venv/bin/python -m bench.campaign_feed [--quick]`.
"""

from __future__ import annotations

import statistics
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from bench.common import machine, parser, print_result, quiet_logging, run, throwaway_database

SESSION_SECRET = "bench-session-secret"  # noqa: S105 - a throwaway database's key
ACCOUNTS = 10
OPENER = (
    '{"reply": "Здравствуйте! Удобно пару минут?", "stage": "introduction", "warmth": 0, '
    '"outcome": "continue", "summary": "Opened"}'
)
START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
CONSTANT_MS_RATIO = 1.5
"""At 10,000 leads a lead may cost at most this many times what it costs at 100 (plus a
millisecond of noise) for the cost to count as constant."""


@dataclass
class _Bench:
    """One campaign of `queued` leads in its own database, and its feeder."""

    queued: int
    feeder: Any
    clock: Any
    engine: Any
    statements: int = 0
    started: int = 0
    per_lead: list[float] = field(default_factory=list)

    def count(self, *args: Any) -> None:
        self.statements += 1

    async def round(self) -> None:
        begun = time.perf_counter()
        fed = await self.feeder.feed_once()
        seconds = time.perf_counter() - begun
        if fed.started == 0:
            raise RuntimeError(f"the feeder started nothing at {self.queued} queued: {fed}")
        self.started += fed.started
        self.per_lead.append(seconds / fed.started)
        self.clock.advance(1)


async def _campaign(stack: AsyncExitStack, queued: int, accounts: int) -> _Bench:
    from sqlalchemy import event
    from tests.application.telegram_world import FakeLocks
    from tests.fakes import FakeClock, FakeLanguageModel, FakeNotifier, FakeTelegram
    from tests.wiring import container_for, settings_for_tests

    from salesbot.adapters.persistence import create_engine
    from salesbot.application.campaigns.feeder import Feeder, ResolvePace
    from salesbot.domain.account import Account
    from salesbot.domain.campaign import Campaign, Lead

    clock = FakeClock(START)
    telegram = FakeTelegram(clock)
    settings = settings_for_tests(
        SESSION_SECRET=SESSION_SECRET,
        TIMEZONE="UTC",
        MAX_DAILY_MESSAGES=1000,
        MIN_MESSAGE_DELAY=0,
        WARMUP_DAYS=0,
        WORKING_HOURS="always",
    )
    db = await stack.enter_async_context(throwaway_database("campaign_feed"))
    engine = create_engine(db.sqlalchemy_url)
    stack.push_async_callback(engine.dispose)
    container = container_for(
        settings,
        engine=engine,
        telegram=telegram,
        llm=FakeLanguageModel(default=OPENER),
        notifier=FakeNotifier(),
        clock=clock,
        locks=FakeLocks(),
    )
    uow_factory = container.uow_factory()
    async with uow_factory() as uow:
        stored = [
            await uow.accounts.add(
                Account(
                    phone=f"+7999100{i:04d}",
                    session_string=f"bench-{i}",
                    created_at=START - timedelta(days=60),
                )
            )
            for i in range(accounts)
        ]
        campaign = await uow.campaigns.add(Campaign(name="bench", created_at=START))
        assert campaign.id is not None
        await uow.leads.add_many(
            [
                Lead(campaign.id, f"lead_{i:06d}", position=i + 1, fields={"company": "X"})
                for i in range(queued)
            ]
        )
        await uow.commit()
    # No ANALYZE: a campaign is fed the moment it is imported, before autovacuum has
    # gathered statistics on its rows; the claim's plan must not need them.
    for i in range(queued):
        telegram.add_user(f"lead_{i:06d}", 10_000_000 + i)
    for account in stored:
        await telegram.connect(account, [])
    quota = container.quota()
    feeder = Feeder(
        uow_factory,
        telegram,
        container.feeder_start_dialog(),
        quota,
        clock,
        pace=ResolvePace(quota, interval=timedelta(0), daily=10**9),
    )
    await feeder.recover(claimed_before=clock.now())
    bench = _Bench(queued, feeder, clock, engine)
    event.listen(engine.sync_engine, "before_cursor_execute", bench.count)
    return bench


async def measure_feeder(
    sizes: tuple[int, int] = (100, 10_000),
    *,
    leads: int = 90,
    accounts: int = ACCOUNTS,
    warmup_rounds: int = 2,
) -> dict[str, object]:
    """Start `leads` leads of a campaign of each size (its own database) on PostgreSQL,
    the rounds of the two alternating so that the machine's other load falls on both
    alike; per size, the median wall time of the feeder's work per started lead and the
    SQL statements per started lead. `constant`: the larger campaign's lead costs no more
    statements and at most CONSTANT_MS_RATIO times the time (plus a millisecond)."""
    small_size, large_size = sizes
    if leads + warmup_rounds * accounts > small_size:
        raise ValueError(f"{small_size} queued leads cannot feed {leads} measured starts")
    async with AsyncExitStack() as stack:
        small = await _campaign(stack, small_size, accounts)
        large = await _campaign(stack, large_size, accounts)
        for bench in (small, large):
            for _ in range(warmup_rounds):
                await bench.round()
            bench.statements, bench.started, bench.per_lead = 0, 0, []
        while small.started < leads or large.started < leads:
            for bench in (small, large):
                if bench.started < leads:
                    await bench.round()
    small_ms = statistics.median(small.per_lead) * 1000
    large_ms = statistics.median(large.per_lead) * 1000
    small_statements = small.statements / small.started
    large_statements = large.statements / large.started
    constant = (
        large_statements <= small_statements and large_ms <= small_ms * CONSTANT_MS_RATIO + 1.0
    )
    return {
        "queued": large_size,
        "started": large.started,
        "feed_ms_per_lead": round(large_ms, 2),
        f"feed_ms_per_lead_at_{small_size}": round(small_ms, 2),
        "statements_per_lead": round(large_statements, 1),
        f"statements_per_lead_at_{small_size}": round(small_statements, 1),
        "constant": constant,
    }


async def main(quick: bool) -> None:
    quiet_logging()
    print((await machine()).describe())
    figures = await measure_feeder(leads=50 if quick else 80)
    print(
        f"100 queued: {figures['feed_ms_per_lead_at_100']} ms and "
        f"{figures['statements_per_lead_at_100']} statements per started lead"
    )
    print(
        f"10,000 queued: {figures['feed_ms_per_lead']} ms and "
        f"{figures['statements_per_lead']} statements per started lead "
        f"({figures['started']} leads started; median of the rounds)"
    )
    print(f"constant: {figures['constant']}")
    print_result("campaign_feed", **{k: v for k, v in figures.items() if k != "started"})


if __name__ == "__main__":
    args = parser(__doc__.splitlines()[0]).parse_args()
    run(main(args.quick))
