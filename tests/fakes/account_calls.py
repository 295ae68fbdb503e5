"""AccountCallQueue in memory, shared by every "process" of a test the way the database is.

Waits are the fake clock's: a wait first gives the other tasks a chance to settle what it
waits for (a runner in another "process" of the same loop), then lets the clock move on by
its timeout, as a poll would.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from salesbot.application.ports import AccountCall, AccountCallStatus, CallOutcome, Clock

TURNS = 50
"""How many times a wait lets the event loop run the others before its clock moves on."""


@dataclass
class FakeCallRow:
    call: AccountCall
    created_at: datetime
    status: AccountCallStatus = "queued"
    result: dict[str, object] | None = None
    taken_by: str | None = None


class FakeAccountCalls:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._ids = itertools.count(1)
        self.rows: dict[int, FakeCallRow] = {}
        self._generation = 0

    async def put(
        self, account_id: int, call: str, args: dict[str, object], *, at: datetime
    ) -> int:
        call_id = next(self._ids)
        self.rows[call_id] = FakeCallRow(AccountCall(call_id, account_id, call, dict(args)), at)
        self._generation += 1
        return call_id

    async def claim(
        self, account_ids: Collection[int], taker: str, *, queued_since: datetime
    ) -> list[AccountCall]:
        taken = []
        for row in sorted(self.rows.values(), key=lambda r: r.call.id):
            if (
                row.call.account_id in account_ids
                and row.created_at >= queued_since
                and row.status in ("queued", "running")
                and row.taken_by != taker
            ):
                row.status, row.taken_by = "running", taker
                taken.append(row.call)
        return taken

    async def finish(
        self,
        call_id: int,
        *,
        result: dict[str, object] | None = None,
        error: dict[str, object] | None = None,
    ) -> bool:
        row = self.rows.get(call_id)
        if row is None or row.status != "running":
            return False
        row.status = "failed" if error is not None else "done"
        row.result = dict(error if error is not None else (result or {}))
        return True

    async def abandon(self, call_id: int) -> bool:
        row = self.rows.get(call_id)
        if row is None or row.status not in ("queued", "running"):
            return False
        row.status = "abandoned"
        return True

    async def outcome(self, call_id: int) -> CallOutcome | None:
        row = self.rows.get(call_id)
        return None if row is None else CallOutcome(row.status, row.result)

    async def wait_for_calls(self, timeout: float) -> None:
        seen = self._generation
        for _ in range(TURNS):
            if self._generation != seen:
                return
            await asyncio.sleep(0)
        await self._clock.sleep(timeout)

    async def wait_for_outcome(self, call_id: int, timeout: float) -> None:
        for _ in range(TURNS):
            outcome = await self.outcome(call_id)
            if outcome is None or outcome.settled:
                return
            await asyncio.sleep(0)
        await self._clock.sleep(timeout)

    async def prune(self, created_before: datetime) -> int:
        old = [i for i, row in self.rows.items() if row.created_at < created_before]
        for call_id in old:
            del self.rows[call_id]
        return len(old)

    async def close(self) -> None:
        pass

    def statuses(self) -> list[str]:
        return [row.status for row in sorted(self.rows.values(), key=lambda r: r.call.id)]
