"""AdminNotifier over the admin bot: every admin hears of every event, bursts as one message.

A review draft is the exception: each goes in a message of its own, with its buttons.

The first event of a burst opens a short window (timed by the Clock port); whatever arrives
before it closes goes out with it as one message, split at 4096 characters if long. A notice
that cannot be delivered is logged with its text and never raised to the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection

from telegram import Bot

from salesbot.adapters.admin_bot.formatting import Formatter
from salesbot.adapters.admin_bot.notices import batch_buttons, describe_batch, draft_buttons
from salesbot.adapters.admin_bot.replies import send_text
from salesbot.application.ports import Clock
from salesbot.domain.events import DraftWritten, Event

log = logging.getLogger(__name__)

DEFAULT_WINDOW = 3.0


def _unique(events: list[Event]) -> list[Event]:
    """The same event told twice in one burst is told once."""
    try:
        return list(dict.fromkeys(events))
    except TypeError:  # an event with an unhashable field
        return events


class BotNotifier:
    def __init__(
        self,
        bot: Bot,
        admin_ids: Collection[int],
        formatter: Formatter,
        clock: Clock,
        *,
        window: float = DEFAULT_WINDOW,
    ) -> None:
        self._bot = bot
        self._admin_ids = tuple(admin_ids)
        self._f = formatter
        self._clock = clock
        self._window = window
        self._pending: list[Event] = []
        self._timer: asyncio.Task[None] | None = None

    async def notify(self, event: Event) -> None:
        """Queue the event; it goes out when the current burst's window closes."""
        try:
            self._pending.append(event)
            if self._timer is None:
                self._timer = asyncio.get_running_loop().create_task(self._after_window())
        except Exception:
            log.exception("could not queue a notice to the admins: %r", event)

    async def _after_window(self) -> None:
        try:
            await self._clock.sleep(self._window)
        except Exception:
            log.exception("the notice window's clock failed; sending at once")
        self._timer = None
        await self.flush()

    async def flush(self) -> None:
        """Send everything queued now, as one message per admin."""
        events, self._pending = _unique(self._pending), []
        drafts = [e for e in events if isinstance(e, DraftWritten)]
        events = [e for e in events if not isinstance(e, DraftWritten)]
        if events:
            await self._send(events)
        for draft in drafts:
            await self._send([draft], draft=draft)

    async def _send(self, events: list[Event], *, draft: DraftWritten | None = None) -> None:
        """One message to every admin: the events, with the buttons they call for."""
        try:
            text = describe_batch(events, self._f)
            if draft is None:
                buttons = batch_buttons(events, self._f.t)
            else:
                buttons = draft_buttons(draft, self._f.t)
        except Exception:
            log.exception("could not format notices %r", events)
            return
        for admin_id in self._admin_ids:
            try:
                await send_text(self._bot, admin_id, text, reply_markup=buttons)
            except Exception:
                log.exception("notice to admin %s not delivered: %s", admin_id, text)

    async def aclose(self) -> None:
        """Send what is queued without waiting for the window (at shutdown)."""
        timer, self._timer = self._timer, None
        if timer is not None and not timer.done():
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
        await self.flush()
