"""One status message a long command edits as it goes (/export_all).

Telegram allows about one edit a second in a chat and every edit is a request: the message
is edited when enough units of work (`every`) or enough time (`every_seconds`) have passed
since the last edit, and never within `min_seconds` of it; the last edit waits that long
if it must, so the message always ends saying how the work ended. Time is the Clock's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import Bot
from telegram.error import TelegramError

from salesbot.adapters.admin_bot.replies import edit_text, send_text
from salesbot.application.ports import Clock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProgressPace:
    every: int = 200
    """Units of work (dialogs) after which the message is edited."""
    every_seconds: float = 5.0
    """Seconds after which it is edited however little was done."""
    min_seconds: float = 1.5
    """Never edited sooner than this after the last edit (Telegram: ~1 edit/s per chat)."""


class ProgressMessage:
    def __init__(
        self, bot: Bot, chat_id: int, clock: Clock, pace: ProgressPace | None = None
    ) -> None:
        self._bot = bot
        self._chat_id = chat_id
        self._clock = clock
        self._pace = pace or ProgressPace()
        self._message_id: int | None = None
        self._edited_at = clock.now()
        self._count = 0
        self._shown = ""

    async def start(self, text: str) -> None:
        """Send the status message."""
        [message, *_] = await send_text(self._bot, self._chat_id, text)
        self._message_id = message.message_id
        self._edited_at = self._clock.now()
        self._shown = text

    async def progress(self, text: str, count: int) -> None:
        """`text` says `count` units are done: shown when the pace allows."""
        since = self._since()
        if since < self._pace.min_seconds:
            return
        if count - self._count < self._pace.every and since < self._pace.every_seconds:
            return
        self._count = count
        await self._edit(text)

    async def note(self, text: str) -> None:
        """A step worth showing (a part sent): shown unless an edit was just made."""
        if self._since() >= self._pace.min_seconds:
            await self._edit(text)

    async def finish(self, text: str) -> None:
        """The last word: waits out `min_seconds` if it must, then always shown."""
        wait = self._pace.min_seconds - self._since()
        if wait > 0:
            await self._clock.sleep(wait)
        await self._edit(text)

    def _since(self) -> float:
        return (self._clock.now() - self._edited_at).total_seconds()

    async def _edit(self, text: str) -> None:
        if self._message_id is None or text == self._shown:
            return  # Telegram refuses an edit that changes nothing
        self._edited_at = self._clock.now()
        self._shown = text
        try:
            await edit_text(self._bot, self._chat_id, self._message_id, text)
        except TelegramError as error:  # a status line is not worth failing the work for
            log.warning("could not update the status message: %s", error)
