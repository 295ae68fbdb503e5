"""What one message of `bench.pipeline` costs the database client: statements, transactions,
and this process's CPU, counted where every statement ends up (asyncpg's connection and
prepared statements), so statements run through SQLAlchemy and straight on the driver both
count.

The same Pipeline as `bench.pipeline` (real use-cases, real PostgreSQL, zero-latency fakes),
one worker at a time, so the CPU figure is per message and not queueing. `--show` lists
every statement of one message.
Run: `.venv/bin/python -m bench.pipeline_sql [--quick] [--show]`.
"""

from __future__ import annotations

import collections
import contextlib
import cProfile
import pstats
import time
from collections.abc import Iterator
from typing import Any

import asyncpg
from asyncpg.prepared_stmt import PreparedStatement

from bench.common import machine, parser, print_result, quiet_logging, run, throwaway_database
from bench.pipeline import TEXTS, Pipeline, _prepare, _Worker


class StatementCounter:
    """Counts what asyncpg sends: simple queries (BEGIN, COMMIT ...) and bound statements."""

    def __init__(self) -> None:
        self.statements: collections.Counter[str] = collections.Counter()
        self.log: list[str] = []

    def _seen(self, query: str) -> None:
        text = " ".join(query.split())
        self.statements[text] += 1
        self.log.append(text)

    @contextlib.contextmanager
    def installed(self) -> Iterator[StatementCounter]:
        counter = self
        patched: list[tuple[Any, str, Any]] = []

        def wrap(owner: Any, name: str, query_of: Any) -> None:
            original = getattr(owner, name)

            async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
                query = query_of(self, args)
                if query is not None:
                    counter._seen(query)
                return await original(self, *args, **kwargs)

            patched.append((owner, name, original))
            setattr(owner, name, counted)

        connection = asyncpg.connection.Connection
        # `execute` with arguments and `fetch*` go through `_execute`: counted there.
        wrap(connection, "execute", lambda _self, args: args[0] if len(args) == 1 else None)
        wrap(connection, "_execute", lambda _self, args: args[0])
        for method in ("fetch", "fetchrow", "fetchval"):
            wrap(PreparedStatement, method, lambda self, _args: self.get_query())
        try:
            yield self
        finally:
            for owner, name, original in reversed(patched):
                setattr(owner, name, original)

    def reset(self) -> None:
        self.statements.clear()
        self.log.clear()

    @property
    def total(self) -> int:
        return sum(self.statements.values())

    def count(self, *starts: str) -> int:
        return sum(n for q, n in self.statements.items() if q.upper().startswith(starts))


async def _pass(pipeline: Pipeline, workers: list[_Worker], per_worker: int) -> float:
    """Every worker's first `per_worker` dialogs get one message, one at a time; the CPU
    this process spent per message, in ms."""
    done = 0
    walls = []
    cpu = time.process_time()
    for worker in workers:
        for index in range(per_worker):
            dialog_id, user_id = worker.users[index % len(worker.users)]
            text = TEXTS[index % len(TEXTS)]
            walls.append(await pipeline.one(worker.account_id, dialog_id, user_id, text))
            done += 1
    cpu_ms = (time.process_time() - cpu) / done * 1000
    walls.sort()
    print(f"wall per message: p50 {walls[len(walls) // 2] * 1000:.2f} ms")
    return cpu_ms


def _report(label: str, counter: StatementCounter, messages: int, cpu_ms: float) -> dict:
    transactions = counter.count("BEGIN")
    statements = counter.total - transactions - counter.count("COMMIT", "ROLLBACK")
    print(
        f"-- {label}: {messages} messages, one at a time\n"
        f"per message: {statements / messages:.2f} statements in "
        f"{transactions / messages:.2f} transactions ({counter.total / messages:.2f} round "
        f"trips with BEGIN and COMMIT); this process's CPU: {cpu_ms:.2f} ms"
    )
    for query, n in counter.statements.most_common():
        if not query.upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            print(f"  {n / messages:5.2f}  {query[:130]}")
    return {
        "statements": round(statements / messages, 2),
        "transactions": round(transactions / messages, 2),
        "cpu_ms": round(cpu_ms, 2),
    }


async def main(quick: bool, show: bool, profile: str) -> None:
    quiet_logging()
    accounts, dialogs = (8, 400) if quick else (16, 2_000)
    per_worker = 25 if quick else 100
    print((await machine()).describe())
    async with throwaway_database("pipeline_sql") as db:
        workers, _ = await _prepare(db, accounts, dialogs, durable=False)
        pipeline = Pipeline(db.dsn, pool_size=accounts)
        await pipeline.open()
        counter = StatementCounter()
        try:
            with counter.installed():
                for worker in workers:  # warm-up on dialogs the passes leave alone
                    for index in range(3):
                        dialog_id, user_id = worker.users[-1 - index]
                        await pipeline.one(worker.account_id, dialog_id, user_id, TEXTS[0])
                counter.reset()
                cpu_ms = await _pass(pipeline, workers, per_worker)
                first = _report(
                    "a dialog's first message in this process",
                    counter,
                    per_worker * len(workers),
                    cpu_ms,
                )
                counter.reset()
                profiler = cProfile.Profile(time.process_time) if profile else None
                if profiler:
                    profiler.enable()
                cpu_ms = await _pass(pipeline, workers, per_worker)
                if profiler:
                    profiler.disable()
                    pstats.Stats(profiler).sort_stats(profile).print_stats(45)
                later = _report(
                    "the same dialogs again", counter, per_worker * len(workers), cpu_ms
                )
                if show:
                    counter.reset()
                    worker = workers[0]
                    dialog_id, user_id = worker.users[0]
                    await pipeline.one(worker.account_id, dialog_id, user_id, TEXTS[1])
                    print("-- the round trips of one (later) message")
                    for query in counter.log:
                        print("  ", query[:160])
        finally:
            await pipeline.close()
    print_result(
        "pipeline_sql",
        first_statements_per_msg=first["statements"],
        first_transactions_per_msg=first["transactions"],
        first_cpu_ms_per_msg=first["cpu_ms"],
        statements_per_msg=later["statements"],
        transactions_per_msg=later["transactions"],
        cpu_ms_per_msg=later["cpu_ms"],
    )


if __name__ == "__main__":
    cli = parser(__doc__.splitlines()[0])
    cli.add_argument("--show", action="store_true", help="print the statements of one message")
    cli.add_argument(
        "--profile", default="", help="cProfile the later pass, sorted by this (tottime, cumtime)"
    )
    args = cli.parse_args()
    run(main(args.quick, args.show, args.profile))
