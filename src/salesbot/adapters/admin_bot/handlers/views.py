"""/list (with page buttons), /view N, /stats (and its chart): looking without changing
anything."""

from __future__ import annotations

import asyncio
import logging

from telegram import InputFile, Update

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
from salesbot.adapters.admin_bot.stats_chart import draw_stats_chart
from salesbot.adapters.logging import secret_mask
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
        """/stats: today and all time, per account; then the last days as a chart (or, when
        nothing happened in them, a line that says so)."""
        await reply(update, context, self.f.stats(await self._views.stats()))
        daily = await self._views.daily()
        days = len(daily.days)
        if daily.is_empty:
            await reply(update, context, self.t("stats_chart_empty", days=days))
            return
        png = await asyncio.to_thread(draw_stats_chart, daily, self.t)
        chat = update.effective_chat
        assert chat is not None
        await context.bot.send_photo(
            chat.id,
            InputFile(png, filename="stats.png"),
            caption=secret_mask(self.t("stats_chart_caption", days=days)),
        )
