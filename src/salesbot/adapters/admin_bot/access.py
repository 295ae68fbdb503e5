"""Only the admins are served, and only in their private chats with the bot: every other
update is dropped before any handler sees it, unanswered, with one log line naming the
sender. A group, supergroup or channel the bot was added to is left at its first update
(a transcript, an account list or a login must never be posted where others read)."""

from __future__ import annotations

import logging
from collections.abc import Collection

from telegram import Chat, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes, filters

log = logging.getLogger(__name__)

_PREVIEW = 64


def _describe(update: Update) -> str:
    if update.callback_query is not None:
        return f"button {update.callback_query.data!r}"
    message = update.effective_message
    if message is not None:
        text = message.text or message.caption or ""
        return f"message {text[:_PREVIEW]!r}" if text else "message without text"
    return "update"


class AdminGate:
    """`check` runs first (handler group -1) for every update; `messages` is the filter
    every message handler carries as well, so no handler can be reached by mistake."""

    def __init__(self, admin_ids: Collection[int]) -> None:
        if not admin_ids:
            raise ValueError("the admin bot needs at least one admin id")
        self.admin_ids = frozenset(admin_ids)
        self.messages = (
            filters.User(user_id=self.admin_ids)
            & filters.ChatType.PRIVATE
            & filters.UpdateType.MESSAGE
        )

    async def check(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not isinstance(update, Update):
            raise ApplicationHandlerStop
        chat = update.effective_chat
        if chat is not None and chat.type != Chat.PRIVATE:
            await self._leave(chat, context)
            raise ApplicationHandlerStop
        user = update.effective_user
        if user is not None and user.id in self.admin_ids:
            return
        log.warning(
            "ignored %s from non-admin user id=%s username=%s",
            _describe(update),
            user.id if user else None,
            f"@{user.username}" if user and user.username else None,
        )
        raise ApplicationHandlerStop

    async def _leave(self, chat: Chat, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.warning(
            "ignored an update from the %s chat id=%s %r: the admin bot works in private "
            "chats only; leaving it",
            chat.type,
            chat.id,
            chat.title or "",
        )
        try:
            await context.bot.leave_chat(chat.id)
        except TelegramError as error:  # best effort: it says nothing there either way
            log.warning("could not leave the %s chat id=%s: %s", chat.type, chat.id, error)
