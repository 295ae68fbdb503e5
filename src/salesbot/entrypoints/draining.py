"""Stopping the dispatcher without cutting a message off mid-flight.

The dispatcher talks to Telegram through `DrainingMessenger`. At shutdown, `drain()` lets
the sends already on their way finish (Telegram then has the message, and the process
either records it or leaves it `sending`, which the next start finds in the chat), while
every call that starts after it waits until the dispatcher is cancelled: its message stays
`sending` too and is checked against the chat at the next start. Either way nothing is
sent twice and nothing is lost; what `drain` adds is that no MTProto request is cut in
half by the shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from salesbot.application.ports import ChatHistoryItem, SentMessage, TelegramMessenger
from salesbot.domain.peer import Peer
from salesbot.entrypoints.supervisor import Component

log = logging.getLogger("salesbot.draining")

T = TypeVar("T")


class DrainingMessenger:
    """Implements TelegramMessenger around another one, with `drain()`."""

    def __init__(self, inner: TelegramMessenger) -> None:
        self._inner = inner
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def _call(self, work: Callable[[], Awaitable[T]]) -> T:
        if self._closed:
            await asyncio.Event().wait()  # until the dispatcher is cancelled
        self._in_flight += 1
        self._idle.clear()
        try:
            return await work()
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def drain(self, timeout: float) -> bool:
        """Start no new call; wait (wall time) for those under way. False on timeout."""
        self._closed = True
        if self._in_flight:
            log.info("waiting for %d Telegram call(s) under way", self._in_flight)
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def resolve_username(self, account_id: int, username: str) -> Peer:
        return await self._call(lambda: self._inner.resolve_username(account_id, username))

    async def send_message(self, account_id: int, peer: Peer, text: str) -> SentMessage:
        return await self._call(lambda: self._inner.send_message(account_id, peer, text))

    async def send_typing(self, account_id: int, peer: Peer) -> None:
        await self._call(lambda: self._inner.send_typing(account_id, peer))

    async def mark_read(self, account_id: int, peer: Peer) -> None:
        await self._call(lambda: self._inner.mark_read(account_id, peer))

    async def recent_messages(
        self, account_id: int, peer: Peer, *, limit: int = 50
    ) -> list[ChatHistoryItem]:
        return await self._call(
            lambda: self._inner.recent_messages(account_id, peer, limit=limit)
        )


class DrainedLoop:
    """A loop run as a component whose stop first drains `messenger`, then cancels it."""

    def __init__(
        self,
        name: str,
        loop: Callable[[], Awaitable[Any]],
        messenger: DrainingMessenger,
        *,
        grace: float = 10.0,
    ) -> None:
        self._loop = loop
        self._messenger = messenger
        self._grace = grace
        self._stopping = asyncio.Event()
        self.component = Component(name, self.run, self.stop, grace=grace)

    async def run(self) -> None:
        work = asyncio.ensure_future(self._loop())
        stopper = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            if not work.done():
                work.cancel()
            await asyncio.gather(work, stopper, return_exceptions=True)
        if not work.cancelled() and work.exception() is not None:
            raise work.exception()  # type: ignore[misc]

    async def stop(self) -> None:
        if not await self._messenger.drain(max(0.0, self._grace - 1.0)):
            log.warning("%s: a Telegram call did not finish in time", self.component.name)
        self._stopping.set()
