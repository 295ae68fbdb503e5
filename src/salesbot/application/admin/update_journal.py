"""The admin bot's updates, kept durable from their arrival to the end of their handling.

Telegram forgets an update once the bot asks for the next ones (getUpdates with a higher
offset), which the bot does long before its one-at-a-time handlers get to them: a crash in
between lost every command still queued. So each update is recorded before that next call
(`record`), claimed when its handling begins (`begin`) and closed when it ends (`finish`).
After a restart, `unfinished` gives the updates recorded but never begun, to be run now,
and those begun but not finished, which are not run again (their effect may be half done
or done): the admin is told to check and repeat them, unless their command is safe to
run once more (`again`). An update Telegram delivers again is recorded once and begun
once. Done ones are forgotten after `keep`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from salesbot.application.errors import DatabaseUnavailable
from salesbot.application.ports import AdminUpdate, Clock, UnitOfWorkFactory

log = logging.getLogger(__name__)

KEEP = timedelta(days=2)
"""Longer than Telegram keeps an update it was not told arrived (24 hours)."""
PRUNE_EVERY = timedelta(hours=1)
RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)


class AdminUpdateJournal:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, *, keep: timedelta = KEEP
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._keep = keep
        self._pruned_at: datetime | None = None

    async def record(self, updates: Sequence[tuple[int, dict[str, object]]]) -> list[int]:
        """Store updates as received, in one transaction; the ids that were new. Raises
        (DatabaseUnavailable, …) when they could not be stored: the caller must then not
        tell Telegram they arrived."""
        if not updates:
            return []
        now = self._clock.now()
        async with self._uow() as uow:
            new = [
                update_id
                for update_id, payload in updates
                if await uow.admin_updates.record(update_id, payload, now)
            ]
            await uow.commit()
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
            await self.prune()
        return new

    async def begin(self, update_id: int) -> bool:
        """Claim the update for handling now; False when it was begun before (by this run,
        or by one a crash ended) and must not run. Waits out a database outage (the
        updates after it wait too: they run in order; a long outage ends the process)."""
        attempt = 0
        while True:
            try:
                async with self._uow() as uow:
                    claimed = await uow.admin_updates.start(update_id, self._clock.now())
                    await uow.commit()
                return claimed
            except DatabaseUnavailable as error:
                log.warning("admin update %s waits for the database: %s", update_id, error)
                await self._clock.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
                attempt += 1

    async def finish(self, update_id: int) -> None:
        """The update was handled. Retried through a short outage; after that a restart
        takes it for interrupted (the admin is asked to check it), which errs safe."""
        for delay in (*RETRY_SECONDS, None):
            try:
                async with self._uow() as uow:
                    await uow.admin_updates.finish(update_id)
                    await uow.commit()
                return
            except DatabaseUnavailable as error:
                if delay is None:
                    log.error("admin update %s handled but not marked done: %s", update_id, error)
                    return
                await self._clock.sleep(delay)

    async def again(self, update_id: int) -> bool:
        """A started update may run once more (its command is safe to repeat); False when
        it is not started (any more)."""
        async with self._uow() as uow:
            again = await uow.admin_updates.again(update_id)
            await uow.commit()
        return again

    async def unfinished(self) -> list[AdminUpdate]:
        async with self._uow() as uow:
            return await uow.admin_updates.unfinished()

    async def prune(self) -> None:
        now = self._clock.now()
        try:
            async with self._uow() as uow:
                gone = await uow.admin_updates.prune(now - self._keep)
                await uow.commit()
        except DatabaseUnavailable as error:
            log.warning("old admin updates not pruned: %s", error)
            return
        self._pruned_at = now
        if gone:
            log.debug("forgot %d handled admin update(s)", gone)
