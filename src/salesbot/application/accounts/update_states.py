"""Each account's Telegram update state, kept in the database a few seconds behind.

The adapters report a state only once every update up to it was handled (its messages are
stored), so a restart resumes from a stored state and Telegram gives it what came after
(getDifference). Writing it for every update would add a write to every message; it is
written every few seconds instead, and when an account stops. A state written late only
means some messages are given again after a crash, and a message seen before is not
stored twice; one written early would lose messages, which cannot happen here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection

from salesbot.application.errors import DatabaseUnavailable, RecordNotFound
from salesbot.application.ports import Clock, UnitOfWorkFactory, UpdateState

log = logging.getLogger(__name__)


class UpdateStateKeeper:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, *, interval: float = 5.0
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._interval = interval
        self._latest: dict[int, UpdateState] = {}
        self._unwritten: set[int] = set()
        self._writing = asyncio.Lock()

    def remember(self, account_id: int, state: UpdateState) -> None:
        """An adapter's report (the StateKeeper port): kept, written at the next flush."""
        known = self._latest.get(account_id)
        if known is not None and known.pts > state.pts:
            return
        self._latest[account_id] = state
        self._unwritten.add(account_id)

    async def state_for(self, account_id: int) -> UpdateState | None:
        """Where to start the account's client from: the newest state known."""
        known = self._latest.get(account_id)
        if known is not None:
            return known
        async with self._uow() as uow:
            return await uow.update_states.get(account_id)

    async def flush(self, account_ids: Collection[int] | None = None) -> None:
        """Write the states reported since the last flush (of `account_ids`, or all). One
        the database cannot take now stays for the next flush."""
        async with self._writing:
            wanted = self._unwritten if account_ids is None else self._unwritten & set(account_ids)
            for account_id in sorted(wanted):
                state = self._latest[account_id]
                try:
                    async with self._uow() as uow:
                        await uow.update_states.put(account_id, state)
                        await uow.commit()
                except RecordNotFound:  # the account was removed meanwhile
                    self._latest.pop(account_id, None)
                except DatabaseUnavailable as error:
                    log.debug("update states wait for the database: %s", error)
                    return
                if self._latest.get(account_id, state) is state:
                    self._unwritten.discard(account_id)

    async def run_forever(self) -> None:
        """Flush every few seconds; when cancelled (at shutdown), once more."""
        try:
            while True:
                await self._clock.sleep(self._interval)
                await self.flush()
        finally:
            await self.flush()
