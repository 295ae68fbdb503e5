"""The admin bot's updates survive a crash: python-telegram-bot's side of the update journal.

The library's Updater tells Telegram that updates arrived by asking for the next ones
(getUpdates with a higher offset), right after putting them in the application's queue,
and the handlers run them one at a time long after. So:

- `JournaledBot.get_updates` records what getUpdates returned before the Updater sees it.
  When that fails (the database is away) it raises a NetworkError: the Updater's retry
  loop then asks again, with the same offset and a growing pause, and Telegram keeps the
  updates until they are recorded.
- `JournaledUpdates`, the application's update processor, claims each update before the
  handlers run it and closes it after (an export started beside the next updates closes
  when it ends). An update claimed before — delivered again by Telegram after a crash,
  or already run from the journal — is not run again.
- `Recovery`, at start, before polling: what was recorded but never begun goes into the
  application's queue, in update order; what was begun but not finished is not run again
  (its effect may be half there or all there): the admin is told which command a restart
  interrupted, and asked to check and repeat it. A command that is safe to run twice
  (`REPEATABLE`) is run once more instead.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Collection
from typing import Any

from telegram import Chat, Update
from telegram.error import NetworkError, TelegramError
from telegram.ext import Application, BaseUpdateProcessor, ExtBot

from salesbot.adapters.admin_bot.catalogue import Texts
from salesbot.adapters.admin_bot.replies import send_text
from salesbot.application.admin.update_journal import AdminUpdateJournal
from salesbot.application.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

QUOTE_LIMIT = 200


class JournaledBot(ExtBot[int]):
    """The Bot API client; once given a journal (`keep_journal`), what getUpdates returns
    is recorded before anyone sees it."""

    __slots__ = ("_journal",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._journal: AdminUpdateJournal | None = None

    def keep_journal(self, journal: AdminUpdateJournal) -> None:
        self._journal = journal

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        updates = await super().get_updates(*args, **kwargs)
        if self._journal is None or not updates:
            return updates
        try:
            await self._journal.record([(u.update_id, json.loads(u.to_json())) for u in updates])
        except Exception as error:
            # A TelegramError keeps the Updater's offset where it was: the same updates
            # are asked for again, after the retry loop's pause.
            raise NetworkError(
                f"admin updates {updates[0].update_id}..{updates[-1].update_id} could not "
                f"be recorded, Telegram keeps them: {error}"
            ) from error
        return updates


class JournaledUpdates(BaseUpdateProcessor):
    """One update at a time, in order (as the library's default), each claimed in the
    journal first and closed after."""

    def __init__(self, journal: AdminUpdateJournal, alongside: Any = None) -> None:
        super().__init__(max_concurrent_updates=1)
        self._journal = journal
        self._alongside = alongside
        self._closing: set[asyncio.Task[None]] = set()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if not isinstance(update, Update):
            await coroutine
            return
        try:
            claimed = await self._journal.begin(update.update_id)
        except Exception:
            log.exception("admin update %s could not be claimed: left for later", update.update_id)
            claimed = False
        if not claimed:
            if inspect.iscoroutine(coroutine):
                coroutine.close()
            log.info("admin update %s was handled before: not run again", update.update_id)
            return
        try:
            await coroutine
        except Exception:
            await self._journal.finish(update.update_id)
            raise
        await self._finish_after(update.update_id)

    async def _finish_after(self, update_id: int) -> None:
        """Done now, or, for a command still running beside the next updates, when it ends
        (one a stop cancels stays unfinished: the next start reports it interrupted)."""
        running = self._alongside.task_for(update_id) if self._alongside is not None else None
        if running is None:
            await self._journal.finish(update_id)
            return

        def ended(task: asyncio.Task[None]) -> None:
            if task.cancelled():
                return
            closing = asyncio.ensure_future(self._journal.finish(update_id))
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)

        running.add_done_callback(ended)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        if self._closing:
            await asyncio.wait(set(self._closing))


REPEATABLE = frozenset({"/start"})
"""Commands a restart runs once more when it cut them short. /start stores the dialog and
its opener in one transaction and a prospect has one open dialog at most: a second run
either starts it (the first never got there) or answers that the dialog is open. It is
also the one that waits minutes for the model, beside the next commands, so a crash
catches several at once."""


def repeatable(update: Update) -> bool:
    message = update.message
    text = (message.text or "") if message is not None else ""
    command = text.split(maxsplit=1)[0].split("@", 1)[0] if text.strip() else ""
    return command in REPEATABLE


def interrupted_notice(texts: Texts, update: Update) -> str | None:
    """What to tell the admin about an update a restart cut short (None: nothing)."""
    message = update.message
    if message is None:
        return None  # a page turn: nothing to repeat
    text = (message.text or message.caption or "").strip()
    if text.startswith("/add_account"):
        return texts("login_interrupted")
    if text.startswith("/"):
        quote = text if len(text) <= QUOTE_LIMIT else text[: QUOTE_LIMIT - 1] + "…"
        return texts("command_interrupted", command=quote)
    # Not quoted: inside /add_account it is a login code or a 2FA password.
    return texts("message_interrupted")


class Recovery:
    """At start, before polling: run what was received but never begun, report what was
    begun but never finished."""

    def __init__(
        self, journal: AdminUpdateJournal, texts: Texts, admin_ids: Collection[int]
    ) -> None:
        self._journal = journal
        self._texts = texts
        self._admin_ids = frozenset(admin_ids)

    async def run(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        try:
            await self._journal.prune()
            unfinished = await self._journal.unfinished()
        except DatabaseUnavailable as error:
            log.warning("admin updates from before the restart not read: %s", error)
            return
        for row in unfinished:
            if row.payload is None:
                continue
            update = Update.de_json(row.payload, application.bot)
            if row.state == "received":
                log.info("admin update %s from before the restart: running it", row.update_id)
                await application.update_queue.put(update)
            elif repeatable(update) and await self._again(row.update_id):
                log.info(
                    "admin update %s was interrupted by the restart: safe to repeat, running "
                    "it again",
                    row.update_id,
                )
                await application.update_queue.put(update)
            else:
                await self._report(application, update)
                await self._journal.finish(row.update_id)

    async def _again(self, update_id: int) -> bool:
        try:
            return await self._journal.again(update_id)
        except DatabaseUnavailable as error:
            log.warning("admin update %s not put back, reported instead: %s", update_id, error)
            return False

    async def _report(
        self, application: Application[Any, Any, Any, Any, Any, Any], update: Update
    ) -> None:
        user, chat = update.effective_user, update.effective_chat
        log.warning("admin update %s was interrupted by the restart", update.update_id)
        notice = interrupted_notice(self._texts, update)
        if (
            notice is None
            or user is None
            or chat is None
            or chat.type != Chat.PRIVATE
            or user.id not in self._admin_ids
        ):
            return
        try:
            await send_text(application.bot, chat.id, notice)
        except TelegramError as error:
            log.warning("could not tell the admin about an interrupted command: %s", error)
