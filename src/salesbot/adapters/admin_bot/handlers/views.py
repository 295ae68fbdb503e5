"""/list (with page buttons), /view N, /stats: looking without changing anything."""

from __future__ import annotations

import logging

from telegram import Update

from salesbot.adapters.admin_bot.catalogue import Texts
from salesbot.adapters.admin_bot.formatting import Formatter
from salesbot.adapters.admin_bot.handlers.common import (
    BadInput,
    Context,
    answers_bad_input,
    command_tail,
    dialog_number,
    reply,
)
from salesbot.adapters.admin_bot.handlers.paging import page_buttons
from salesbot.application.admin.views import AdminViews, DialogPage
from salesbot.application.errors import UnknownDialog

log = logging.getLogger(__name__)

PAGES = "list"
"""The kind of /list's page buttons (handlers/paging.py)."""


class ViewCommands:
    def __init__(self, texts: Texts, formatter: Formatter, views: AdminViews) -> None:
        self.t = texts
        self.f = formatter
        self._views = views

    async def list(self, update: Update, context: Context) -> None:
        """/list: open dialogs, newest activity first, a page at a time."""
        text, page = await self.page(1)
        await reply(update, context, text, reply_markup=page_buttons(PAGES, page, self.t))

    async def page(self, n: int) -> tuple[str, DialogPage]:
        """Page N of /list (the page buttons show it)."""
        page = await self._views.open_dialogs(n)
        return self.f.dialog_page(page), page

    @answers_bad_input
    async def view(self, update: Update, context: Context) -> None:
        """/view N: the whole dialog with times and direction, in several messages if long."""
        assert update.message is not None
        n, _ = dialog_number(command_tail(update.message), self.t, "view")
        try:
            transcript = await self._views.transcript(n)
        except UnknownDialog as error:
            raise BadInput(self.t("unknown_dialog", n=n)) from error
        text = self.f.transcript(
            transcript.dialog,
            transcript.messages,
            summary=transcript.summary,
            reason=transcript.status_reason,
            notes=transcript.notes,
            spend=transcript.spend,
        )
        await reply(update, context, text)

    async def stats(self, update: Update, context: Context) -> None:
        """/stats: today and all time, per account."""
        await reply(update, context, self.f.stats(await self._views.stats()))
