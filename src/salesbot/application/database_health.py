"""Whether PostgreSQL answers, as the admin hears of it: once when it stops, once when it is
back, whoever notices first (the intake storing a message, the database watch's ping)."""

from __future__ import annotations

import logging
from datetime import datetime

from salesbot.application.ports import AdminNotifier, Clock
from salesbot.domain.events import DatabaseBack, DatabaseUnreachable

log = logging.getLogger("salesbot.database")


class DatabaseHealth:
    def __init__(self, notifier: AdminNotifier, clock: Clock) -> None:
        self._notifier = notifier
        self._clock = clock
        self.down_since: datetime | None = None

    @property
    def is_down(self) -> bool:
        return self.down_since is not None

    async def down(self, error: BaseException) -> None:
        """The database failed a call; the first failure of an outage is logged and told."""
        if self.down_since is not None:
            return
        self.down_since = self._clock.now()
        reason = str(error) or type(error).__name__
        log.error("The database does not answer: %s", reason)
        await self._notifier.notify(DatabaseUnreachable(reason))

    async def up(self) -> None:
        """The database answered; the end of an outage is logged and told."""
        if self.down_since is None:
            return
        down_for = (self._clock.now() - self.down_since).total_seconds()
        self.down_since = None
        log.warning("The database answers again after %.0f s", down_for)
        await self._notifier.notify(DatabaseBack(down_for))
