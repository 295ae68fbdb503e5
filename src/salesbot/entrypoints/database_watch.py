"""Ends the process when the database has been gone for longer than a grace period.

Components survive a short outage by themselves (they back off and retry; messages from
Telegram wait, unacknowledged, until they are stored); a long one is better handled by
systemd restarting the whole process, which then waits at start-up until PostgreSQL answers
again, and is given what Telegram delivered meanwhile (the update state was not moved past
it). The outage is told to the admin once each way through DatabaseHealth, which the intake
reports to as well. Pings and their pauses run on the Clock port.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

from salesbot.application.database_health import DatabaseHealth
from salesbot.application.ports import Clock
from salesbot.entrypoints.supervisor import Component, Unrecoverable

Ping = Callable[[], Awaitable[None]]


class DatabaseWatch:
    def __init__(
        self,
        ping: Ping,
        clock: Clock,
        health: DatabaseHealth,
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
        self._health = health

    def component(self) -> Component:
        return Component("database watch", self.run)

    @property
    def down_since(self) -> datetime | None:
        return self._health.down_since

    async def check(self) -> None:
        """One ping; raises Unrecoverable once the outage is longer than the grace period."""
        try:
            await asyncio.wait_for(self._ping(), timeout=self._ping_timeout)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            await self._health.down(error)
            assert self._health.down_since is not None
            down_for = (self._clock.now() - self._health.down_since).total_seconds()
            if down_for >= self._grace:
                raise Unrecoverable(
                    f"the database has not answered for {down_for:.0f} s "
                    f"(more than {self._grace:.0f} s): {error}"
                ) from error
            return
        await self._health.up()

    async def run(self) -> None:
        while True:
            await self.check()
            await self._clock.sleep(self._interval)
