"""Ends the process when the database has been gone for longer than a grace period.

Components survive a short outage by themselves (they crash, back off and retry); a long
one is better handled by systemd restarting the whole process, which then waits at start-up
until PostgreSQL answers again. Pings and their pauses run on the Clock port.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from salesbot.application.ports import Clock
from salesbot.entrypoints.supervisor import Component, Unrecoverable

log = logging.getLogger("salesbot.database_watch")

Ping = Callable[[], Awaitable[None]]


class DatabaseWatch:
    def __init__(
        self,
        ping: Ping,
        clock: Clock,
        *,
        grace: float = 300.0,
        interval: float = 15.0,
        ping_timeout: float = 10.0,
    ) -> None:
        self._ping = ping
        self._clock = clock
        self._grace = grace
        self._interval = interval
        self._ping_timeout = ping_timeout
        self.down_since: datetime | None = None

    def component(self) -> Component:
        return Component("database watch", self.run)

    async def check(self) -> None:
        """One ping; raises Unrecoverable once the outage is longer than the grace period."""
        try:
            await asyncio.wait_for(self._ping(), timeout=self._ping_timeout)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            now = self._clock.now()
            if self.down_since is None:
                self.down_since = now
                log.error("The database does not answer: %s", error)
            down_for = (now - self.down_since).total_seconds()
            if down_for >= self._grace:
                raise Unrecoverable(
                    f"the database has not answered for {down_for:.0f} s "
                    f"(more than {self._grace:.0f} s): {error}"
                ) from error
            return
        if self.down_since is not None:
            down_for = (self._clock.now() - self.down_since).total_seconds()
            log.warning("The database answers again after %.0f s", down_for)
            self.down_since = None

    async def run(self) -> None:
        while True:
            await self.check()
            await self._clock.sleep(self._interval)
