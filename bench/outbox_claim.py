"""What one outbox claim costs the server while an account has many messages due.

A campaign queues hundreds of openers per account at once; the dispatcher then claims
them one by one. The claim must take the account's next due message (replies first, then
follow-ups, then openers; oldest first) that no older unsent message of its dialog holds
back, skipping rows another dispatcher holds. This measures that statement
(`repositories.messages._CLAIM`, compiled for asyncpg as SQLAlchemy sends it: a prepared
statement, PostgreSQL's plan cache deciding) on a database of realistic size: each claim
runs in a transaction rolled back, so every one faces the same outbox.
Run: `.venv/bin/python -m bench.outbox_claim [--quick]`.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from bench.common import machine, parser, print_result, quiet_logging, run, throwaway_database
from bench.seed import seed

# One pending message per dialog for the first QUEUED dialogs: replies and openers, three
# in four due now, the rest tomorrow.
QUEUE = """
INSERT INTO messages (dialog_id, account_id, direction, content, timestamp, delivery, kind,
                      send_after)
SELECT d.id, d.account_id, 'out', 'Здравствуйте! Пишу по поводу конференции.', now(),
       'pending', CASE WHEN (d.id / 8) % 2 = 0 THEN 'opener' ELSE 'reply' END,
       now() - interval '1 minute' + ((d.id / 8) % 4 / 3) * interval '1 day'
FROM dialogs d ORDER BY d.id LIMIT $1
"""


def _compiled(statement: Any, params: dict[str, Any]) -> tuple[str, list[Any]]:
    """The SQL and the positional arguments asyncpg gets for `statement` (as
    tests/adapters/persistence/test_claim_plan.py compiles it): the statement's own bound
    values too, enums as their values."""
    compiled = statement.compile(dialect=asyncpg_dialect())
    values = {**compiled.params, **params}
    arguments = [getattr(values[name], "value", values[name]) for name in compiled.positiontup]
    return compiled.string, arguments


async def main(quick: bool) -> None:
    from salesbot.adapters.persistence.repositories.messages import _CLAIM

    quiet_logging()
    dialogs, stored, queued, claims = (
        (4_000, 40_000, 2_000, 100) if quick else (20_000, 400_000, 8_000, 300)
    )
    print((await machine()).describe())
    async with throwaway_database("outbox_claim") as db:
        await seed(db.dsn, accounts=8, dialogs=dialogs, messages=stored)
        conn = await asyncpg.connect(db.dsn)
        try:
            await conn.execute(QUEUE, queued)
            await conn.execute("VACUUM ANALYZE messages")
            due = await conn.fetchval(
                "SELECT count(*) FROM messages WHERE account_id = 1 AND delivery = 'pending'"
                " AND send_after <= now()"
            )
            sql, arguments = _compiled(
                _CLAIM[True], {"claimer": 1, "due_by": datetime.now(timezone.utc)}
            )

            async def claim() -> None:
                transaction = conn.transaction()
                await transaction.start()
                try:
                    assert await conn.fetch(sql, *arguments), "nothing claimed"
                finally:
                    await transaction.rollback()

            for _ in range(10):  # past the plan cache's first custom plans
                await claim()
            started = time.perf_counter()
            for _ in range(claims):
                await claim()
            wall_ms = (time.perf_counter() - started) / claims * 1000
            plan = await conn.fetch("EXPLAIN (ANALYZE) " + sql, *arguments)
            executed = float(plan[-1][0].split(":")[1].split()[0])
        finally:
            await conn.close()
    print(
        f"{stored:,} messages over {dialogs:,} dialogs; account 1 has {due} messages due\n"
        f"one claim (with BEGIN and ROLLBACK): {wall_ms:.2f} ms; the statement's execution "
        f"alone: {executed:.2f} ms"
    )
    print_result("outbox_claim", due=due, claim_ms=round(wall_ms, 2), execution_ms=executed)


if __name__ == "__main__":
    run(main(parser(__doc__.splitlines()[0]).parse_args().quick))
