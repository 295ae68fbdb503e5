"""What the CRM webhook's queue costs the database: the trigger on every dialog write, and
the deliverer's "what is due" with a long backlog.

1. One-row dialog UPDATEs (as every reply makes) timed with the webhook off (the trigger
   reads one `settings` row and stops) and on (it also compares the old and new row; the
   change here makes no event), against the same updates with the trigger disabled.
2. The deliverer's `due` (`repositories/webhook_events.py` `_DUE`, each dialog's oldest
   undelivered event that is due) on a backlog of undelivered events — a receiver down for
   days — half of them waiting for a retry time in the future, then all of them (the poll
   while the receiver fails, every 10 s, finds nothing due).
Run: `.venv/bin/python -m bench.webhook_queue [--quick]`.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import asyncpg

from bench.common import parser, print_result, quiet_logging, run, throwaway_database
from bench.seed import seed_accounts, seed_dialogs

UPDATE = "UPDATE dialogs SET warmth = (warmth + 1) % 100 WHERE id = $1"
BACKLOG = """
INSERT INTO webhook_events (dialog_id, kind, payload, next_attempt_at)
SELECT 1 + (n % $2), 'first_reply', '{"id": 1}'::json,
       CASE WHEN n % 2 = 0 THEN now() + interval '1 hour' END
FROM generate_series(1, $1) AS n
"""


async def _updates_ms(conn: asyncpg.Connection, ids: list[int]) -> float:
    started = time.perf_counter()
    for dialog_id in ids:
        await conn.execute(UPDATE, dialog_id)
    return (time.perf_counter() - started) * 1000 / len(ids)


async def main(quick: bool) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from salesbot.adapters.persistence.repositories.webhook_events import _DUE

    quiet_logging()
    dialogs, updates, backlog, rounds = (
        (2_000, 1_000, 50_000, 20) if quick else (20_000, 5_000, 500_000, 50)
    )
    async with throwaway_database("webhook_queue") as db:
        conn = await asyncpg.connect(db.dsn)
        try:
            accounts = await seed_accounts(conn, 8)
            await seed_dialogs(conn, accounts, dialogs)
            ids = [1 + (i * 7919) % dialogs for i in range(updates)]
            await conn.execute("ALTER TABLE dialogs DISABLE TRIGGER dialogs_queue_webhook_events")
            await _updates_ms(conn, ids[:200])  # warm up
            without = await _updates_ms(conn, ids)
            await conn.execute("ALTER TABLE dialogs ENABLE TRIGGER dialogs_queue_webhook_events")
            off = await _updates_ms(conn, ids)
            await conn.execute("INSERT INTO settings (key, value) VALUES ('webhook.enabled', '1')")
            on = await _updates_ms(conn, ids)
            await conn.execute(BACKLOG, backlog, dialogs)
            await conn.execute("VACUUM ANALYZE webhook_events")
        finally:
            await conn.close()

        engine = create_async_engine(db.sqlalchemy_url)
        try:
            now = datetime.now(timezone.utc) + timedelta(seconds=1)
            async with engine.connect() as connection:
                await connection.execute(_DUE, {"now": now, "limit": 50})
                started = time.perf_counter()
                for _ in range(rounds):
                    due = (await connection.execute(_DUE, {"now": now, "limit": 50})).all()
                due_ms = (time.perf_counter() - started) * 1000 / rounds
                # The receiver down long enough that every event waits for its retry time:
                # the poll finds nothing due.
                await connection.execute(
                    text("UPDATE webhook_events SET next_attempt_at = now() + interval '1 hour'")
                )
                await connection.commit()
                started = time.perf_counter()
                for _ in range(rounds):
                    idle = (await connection.execute(_DUE, {"now": now, "limit": 50})).all()
                idle_ms = (time.perf_counter() - started) * 1000 / rounds
                assert idle == []
        finally:
            await engine.dispose()
    print_result(
        "webhook_queue",
        update_ms_no_trigger=round(without, 3),
        update_ms_webhook_off=round(off, 3),
        update_ms_webhook_on=round(on, 3),
        backlog=backlog,
        due_rows=len(due),
        due_ms=round(due_ms, 2),
        nothing_due_ms=round(idle_ms, 2),
    )


if __name__ == "__main__":
    run(main(parser(__doc__.splitlines()[0]).parse_args().quick))
