"""Start-up time and memory of the account pool with 1, 10, 50 and 200 accounts.

Each size runs in a fresh child process (clean RSS figures) against one throwaway PostgreSQL
database: the AccountPool the service's container builds, with the real advisory locks
(PgAccountLocks) and SQL units of work, and a fake AccountConnections whose `connect` takes
CONNECT_LATENCY seconds as an MTProto handshake would. Each account has PEERS_PER_ACCOUNT
cached peers loaded at start.

It shows the pool's own cost per account (the fake client holds nothing: a real kurigram
client adds its own, measured separately as "client objects" — constructed, not connected)
and that connecting is concurrent: start-up with 200 accounts takes about as long as with 10.
Run: `.venv/bin/python -m bench.accounts [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from collections.abc import Sequence

from bench.common import (
    Stopwatch,
    machine,
    parser,
    peak_rss_mb,
    print_result,
    quiet_logging,
    rss_mb,
    run,
    throwaway_database,
)
from bench.seed import seed_accounts, seed_peers
from salesbot.application.ports import IncomingHandler, StateKeeper, UpdateState
from salesbot.domain.account import Account
from salesbot.domain.peer import Peer
from salesbot.entrypoints import event_loop

SIZES = (1, 10, 50, 200)
CONNECT_LATENCY = 0.5
PEERS_PER_ACCOUNT = 50
SESSION_SECRET = "bench-session-secret"  # noqa: S105 - a throwaway database's key


class SlowConnections:
    """AccountConnections whose connect takes as long as a real handshake, doing nothing."""

    def __init__(self, latency: float) -> None:
        self._latency = latency
        self._connected: dict[int, list[Peer]] = {}
        self._handlers: list[IncomingHandler] = []

    async def connect(
        self, account: Account, peers: Sequence[Peer], state: UpdateState | None = None
    ) -> None:
        await asyncio.sleep(self._latency)
        assert account.id is not None
        self._connected[account.id] = list(peers)

    async def disconnect(self, account_id: int) -> None:
        self._connected.pop(account_id, None)

    def connected(self) -> frozenset[int]:
        return frozenset(self._connected)

    def subscribe(self, handler: IncomingHandler) -> None:
        self._handlers.append(handler)

    def keep_state(self, keeper: StateKeeper) -> None:
        pass  # no updates arrive: nothing to keep


async def prepare(dsn: str, accounts: int) -> None:
    import asyncpg

    from salesbot.adapters.persistence import FernetSessionCipher

    cipher = FernetSessionCipher(SESSION_SECRET)
    conn = await asyncpg.connect(dsn)
    try:
        ids = await seed_accounts(conn, accounts, cipher.encrypt)
        user = 10_000
        rows = []
        for account_id in ids:
            for _ in range(PEERS_PER_ACCOUNT):
                rows.append((0, account_id, user))
                user += 1
        await seed_peers(conn, rows)
    finally:
        await conn.close()


async def child(dsn: str, accounts: int) -> dict[str, float]:
    """One measurement, in its own process: start `accounts` accounts, then stop them."""
    from sqlalchemy import text
    from tests.fakes import FakeClock, FakeNotifier
    from tests.wiring import container_for, settings_for_tests

    from salesbot.adapters.persistence import create_engine
    from salesbot.application.accounts.run_accounts import AccountPool
    from salesbot.entrypoints.container import resolve, shut_down

    quiet_logging()
    engine = create_engine(dsn)
    conn = await engine.connect()  # warm the pool: the first connect is not the pool's cost
    await conn.close()
    # Only the first `accounts` accounts are active this round.
    async with engine.begin() as tx:
        await tx.execute(
            text(
                "UPDATE accounts SET status = "
                "CASE WHEN id <= :n THEN 'active' ELSE 'disabled' END"
            ),
            {"n": accounts},
        )
    # The service's container: its pool, its real advisory locks (PgAccountLocks, on the
    # bench's engine) and SQL units of work; only Telegram, the notifier and the clock are
    # stand-ins.
    container = container_for(
        settings_for_tests(SESSION_SECRET=SESSION_SECRET),
        engine=engine,
        telegram=SlowConnections(CONNECT_LATENCY),
        notifier=FakeNotifier(),
        clock=FakeClock(),
    )
    baseline = rss_mb()
    pool: AccountPool = await resolve(container.pool())
    with Stopwatch() as start:
        running = await pool.start_all()
    after = rss_mb()
    with Stopwatch() as stop:
        await pool.stop_all()
    await shut_down(container)  # the advisory locks' connection
    await engine.dispose()

    # What kurigram's client objects weigh before they connect (no network involved).
    from pyrogram import Client

    before_clients = rss_mb()
    clients = [
        Client(f"bench{i}", api_id=1, api_hash="0" * 32, in_memory=True, no_updates=False)
        for i in range(accounts)
    ]
    clients_mb = rss_mb() - before_clients
    del clients
    return {
        "accounts": accounts,
        "running": len(running),
        "start_s": start.seconds,
        "stop_s": stop.seconds,
        "rss_base_mb": baseline,
        "rss_mb": after,
        "pool_mb_per_account": (after - baseline) / accounts,
        "client_mb_per_account": clients_mb / accounts,
        "peak_rss_mb": peak_rss_mb(),
    }


def run_child(dsn: str, accounts: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.accounts", "--child", str(accounts), "--dsn", dsn],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


async def main(quick: bool) -> None:
    quiet_logging()
    print((await machine()).describe())
    print(
        f"fake clients: connect takes {CONNECT_LATENCY * 1000:.0f} ms; "
        f"{PEERS_PER_ACCOUNT} cached peers per account"
    )
    rows = []
    async with throwaway_database("accounts") as db:
        await prepare(db.dsn, max(SIZES))
        for size in SIZES:
            rows.append(await asyncio.to_thread(run_child, db.dsn, size))
    print()
    print(
        "| accounts | running | start-up | stop | RSS before | RSS after | pool per account "
        "| kurigram Client object per account |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['accounts']} | {r['running']} | {r['start_s'] * 1000:.0f} ms "
            f"| {r['stop_s'] * 1000:.0f} ms | {r['rss_base_mb']:.0f} MB | {r['rss_mb']:.0f} MB "
            f"| {r['pool_mb_per_account'] * 1024:.0f} KB "
            f"| {r['client_mb_per_account'] * 1024:.0f} KB |"
        )
    by_size = {int(r["accounts"]): r for r in rows}
    big, small = by_size[200], by_size[10]
    per_account_ms = (big["start_s"] - by_size[1]["start_s"]) / 199 * 1000
    print(
        f"start-up with 200 accounts is {big['start_s'] / small['start_s']:.2f}x that with 10: "
        f"connecting is concurrent; the pool's own cost is {per_account_ms:.2f} ms per account"
    )
    print_result(
        "accounts",
        start_1_ms=round(by_size[1]["start_s"] * 1000),
        start_10_ms=round(small["start_s"] * 1000),
        start_50_ms=round(by_size[50]["start_s"] * 1000),
        start_200_ms=round(big["start_s"] * 1000),
        ratio_200_vs_10=round(big["start_s"] / small["start_s"], 2),
        ms_per_account=round(per_account_ms, 2),
        rss_200_mb=round(big["rss_mb"]),
        kb_per_account=round(big["pool_mb_per_account"] * 1024),
        client_kb_per_account=round(big["client_mb_per_account"] * 1024),
    )


if __name__ == "__main__":
    cli = parser(__doc__.splitlines()[0])
    cli.add_argument("--child", type=int, help=argparse.SUPPRESS)
    cli.add_argument("--dsn", help=argparse.SUPPRESS)
    args = cli.parse_args()
    if args.child:
        print(json.dumps(event_loop.run(child(args.dsn, args.child))))
    else:
        run(main(args.quick))
