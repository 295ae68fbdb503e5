"""The `admin bot` component of a process that may hold the bot (`SALESBOT_ROLE=all`).

One BOT_TOKEN has one long poller (a second one gets `409 Conflict` from Telegram), so of
the processes on one database one leads and polls, the others follow. Every
`Timing.election_interval` a follower tries to take the lead (`Leadership`, an advisory
lock); the one that wins starts the admin bot — whose start runs the journal's recovery
first, then polls — and then confirms the lead every interval. A leader that cannot
confirm it (its database connection died: another process may have won it already) stops
polling at once and follows again. A killed leader's lock dies with its connection, so a
follower takes over at its next try.

The component is ready once it knows which it is, leading (the bot polling) or following:
either way this process is up. A failed start (the Bot API unreachable, the token refused)
lets the lead go again and fails the component, so the supervisor tells it and retries —
meanwhile another process may lead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from salesbot.application.errors import PortError
from salesbot.application.ports import Clock, Leadership
from salesbot.entrypoints.supervisor import Component

log = logging.getLogger("salesbot.run")

NAME = "admin bot"
LEADS = "admin bot: this process leads"
FOLLOWS = "admin bot: this process follows (another one polls the admin bot)"


class Election:
    def __init__(
        self,
        leadership: Leadership,
        start: Callable[[], Awaitable[None]],
        stop: Callable[[], Awaitable[None]],
        clock: Clock,
        *,
        interval: float,
        grace: float = 10.0,
    ) -> None:
        self._leadership = leadership
        self._start, self._stop = start, stop
        self._clock = clock
        self._interval = interval
        self._stopping = asyncio.Event()
        self._leading = False
        self._told = ""
        self.component = Component(
            NAME, self.run, self.request_stop, grace=grace, announces_ready=True
        )

    @property
    def leading(self) -> bool:
        """This process holds the lead and its admin bot has started."""
        return self._leading

    async def run(self) -> None:
        self._stopping.clear()
        try:
            while not self._stopping.is_set():
                await self._round()
                self.component.ready.set()
                await self._pause()
        finally:
            self.component.ready.clear()
            await asyncio.shield(self._step_down())

    async def request_stop(self) -> None:
        self._stopping.set()

    async def _round(self) -> None:
        if self._leading:
            if not await self._leadership.still_leading():
                log.warning("admin bot: this process lost the lead; it stops polling")
                self._leading = False
                await self._stop_quietly()
                self._tell(FOLLOWS)
            return
        try:
            won = await self._leadership.try_lead()
        except PortError as error:
            self._tell(
                f"admin bot: cannot ask the database who leads ({error}); this process "
                f"follows and asks again every {self._interval:g} s",
                logging.WARNING,
            )
            return
        if not won:
            self._tell(FOLLOWS)
            return
        self._tell(LEADS)
        self._leading = True  # a start that fails is stopped and the lead let go (run's finally)
        await self._start()

    async def _step_down(self) -> None:
        """Stop polling (if it did) and let the lead go with the election's connection, so
        another process takes it at its next try (a next run connects again)."""
        if self._leading:
            self._leading = False
            self._told = ""  # leading again is news again
            await self._stop_quietly()
        try:
            await self._leadership.close()
        except Exception:
            log.exception("admin bot: letting the lead go failed")

    async def _stop_quietly(self) -> None:
        try:
            await self._stop()
        except Exception:
            log.exception("admin bot: stopping failed")

    def _tell(self, line: str, level: int = logging.INFO) -> None:
        """Each change once: a follower does not say it follows every five seconds."""
        if line != self._told:
            self._told = line
            log.log(level, "%s", line)

    async def _pause(self) -> None:
        """One interval on the clock, cut short by a stop."""
        sleeper = asyncio.ensure_future(self._clock.sleep(self._interval))
        stopper = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (sleeper, stopper):
                waiter.cancel()
