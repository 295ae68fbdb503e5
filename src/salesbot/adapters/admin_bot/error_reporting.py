"""The one error handler: the traceback goes to the log under a short id, and the admin who
sent the update is told that id, so the two can be matched."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection

from telegram import Update
from telegram.ext import ContextTypes

from salesbot.adapters.admin_bot.catalogue import Texts

log = logging.getLogger(__name__)


def new_error_id() -> str:
    return uuid.uuid4().hex[:8]


class ErrorReporter:
    def __init__(self, texts: Texts, admin_ids: Collection[int]) -> None:
        self.t = texts
        self._admin_ids = frozenset(admin_ids)

    async def __call__(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error_id = new_error_id()
        where = "polling" if update is None else type(update).__name__
        if isinstance(update, Update):
            where = f"update {update.update_id}"
        log.error("internal error %s while handling %s", error_id, where, exc_info=context.error)
        if not isinstance(update, Update):
            return
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None or user.id not in self._admin_ids:
            return
        try:
            await context.bot.send_message(chat.id, self.t("internal_error", error_id=error_id))
        except Exception:
            log.exception("could not tell the admin about internal error %s", error_id)
