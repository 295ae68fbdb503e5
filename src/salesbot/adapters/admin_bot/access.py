"""Only the admins are served: every other update is dropped before any handler sees it,
unanswered, with one log line naming the sender."""

from __future__ import annotations

import logging
from collections.abc import Collection

from telegram import Update
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
        self.messages = filters.User(user_id=self.admin_ids) & filters.UpdateType.MESSAGE

    async def check(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not isinstance(update, Update):
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
