"""What one message of `bench.pipeline` costs: statements, transactions, this process's CPU
and the server's, against the raw asyncpg baseline's message.

Every statement is counted where it ends up, on asyncpg's connection and prepared
statements: the pipeline's (SQLAlchemy Core through the unit of work's Transaction, the one
way the product runs SQL) and the baseline's (straight on asyncpg) are counted the same way.
The same Pipeline as `bench.pipeline` (built by the service's container: real use-cases,
real PostgreSQL, zero-latency fakes), one worker at a time, so the CPU figures are per
message and not queueing; then the raw asyncpg baseline's message, measured the same way.
The server's CPU per statement is read from its backend process's scheduler statistics
(`/proc/<pid>/schedstat`, nanoseconds), so it is shown only when PostgreSQL runs on this
machine; it includes what the dialogs' counter triggers (revision 0006) do for a statement
on `messages`. The database runs with `synchronous_commit=off`, so a COMMIT's figure leaves
out the WAL flush, which the WAL writer does. This process's CPU includes the counting's own
(reading /proc twice per statement: ~1.5 ms per message); `bench.pipeline` measures it
without. `--show` lists every statement of one message.
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
from bench.pipeline import TEXTS, Pipeline, RawBaseline, _prepare, _Worker


class StatementCounter:
    """Counts what asyncpg sends: simple queries (BEGIN, COMMIT ...) and bound statements."""

    def __init__(self) -> None:
        self.statements: collections.Counter[str] = collections.Counter()
        self.server_ns: collections.Counter[str] = collections.Counter()
        self.server_visible = True  # False once a backend's /proc entry could not be read
        self.log: list[str] = []

    def _server_ns(self, pid: int) -> int:
        """The backend's CPU time so far, or 0 when it cannot be seen from here."""
        if self.server_visible:
            try:
                with open(f"/proc/{pid}/schedstat") as stats:
                    return int(stats.read().split()[0])
            except (OSError, ValueError, IndexError):
                self.server_visible = False
        return 0

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
                if query is None:
                    return await original(self, *args, **kwargs)
                counter._seen(query)
                connection = getattr(self, "_connection", self)
                pid = connection.get_server_pid()
                before = counter._server_ns(pid)
                try:
                    return await original(self, *args, **kwargs)
                finally:
                    counter.server_ns[counter.log[-1]] += counter._server_ns(pid) - before

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
        self.server_ns.clear()
        self.log.clear()

    @property
    def total(self) -> int:
        return sum(self.statements.values())

    def count(self, *starts: str) -> int:
        return sum(n for q, n in self.statements.items() if q.upper().startswith(starts))


async def _pass(
    pipeline: Pipeline | RawBaseline, workers: list[_Worker], per_worker: int
) -> float:
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
    server_ms = sum(counter.server_ns.values()) / messages / 1e6
    if counter.server_visible:
        print(
            f"PostgreSQL's CPU per message: {server_ms:.2f} ms; per statement: times run per "
            "message, server CPU per message"
        )
    for query, n in counter.statements.most_common():
        server = ""
        if counter.server_visible:
            server = f"{counter.server_ns[query] / messages / 1e3:6.0f} us"
        print(f"  {n / messages:5.2f}  {server} {query[:120]}")
    return {
        "server_ms": round(server_ms, 2) if counter.server_visible else None,
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
                counter.reset()
                raw = RawBaseline(db.dsn, pool_size=accounts)
                await raw.open()
                try:
                    await _pass(raw, workers, 3)  # warm-up: prepared statements
                    counter.reset()
                    cpu_ms = await _pass(raw, workers, per_worker)
                finally:
                    await raw.close()
                baseline = _report(
                    "the raw asyncpg baseline", counter, per_worker * len(workers), cpu_ms
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
        server_cpu_ms_per_msg=later["server_ms"],
        raw_statements_per_msg=baseline["statements"],
        raw_cpu_ms_per_msg=baseline["cpu_ms"],
        raw_server_cpu_ms_per_msg=baseline["server_ms"],
    )


if __name__ == "__main__":
    cli = parser(__doc__.splitlines()[0])
    cli.add_argument("--show", action="store_true", help="print the statements of one message")
    cli.add_argument(
        "--profile", default="", help="cProfile the later pass, sorted by this (tottime, cumtime)"
    )
    args = cli.parse_args()
    run(main(args.quick, args.show, args.profile))
