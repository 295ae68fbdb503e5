"""Long lists a page at a time (/list, /dnc): ◀ and ▶ buttons under the message show the
other pages in the same message. Each list is named by its kind, the first part of its
buttons' callback data (`list:2`, `dnc:3`)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from salesbot.adapters.admin_bot.catalogue import Texts
from salesbot.adapters.admin_bot.handlers.common import Context
from salesbot.adapters.logging import secret_mask
from salesbot.application.admin.paging import Page

PAGE_CALLBACK = re.compile(r"^([a-z_]+):(\d{1,6})$")

ShowPage = Callable[[int], Awaitable[tuple[str, Page[Any]]]]
"""Page N of one list: its text and the page it is (which may be another: past the end)."""


def page_buttons(kind: str, page: Page[Any], t: Texts) -> InlineKeyboardMarkup | None:
    buttons = []
    if page.page > 1:
        buttons.append(
            InlineKeyboardButton(t("list_prev"), callback_data=f"{kind}:{page.page - 1}")
        )
    if page.page < page.pages:
        buttons.append(
            InlineKeyboardButton(t("list_next"), callback_data=f"{kind}:{page.page + 1}")
        )
    return InlineKeyboardMarkup([buttons]) if buttons else None


class PageTurner:
    """The page buttons of every paged list; any other button is only answered."""

    def __init__(self, texts: Texts, lists: Mapping[str, ShowPage]) -> None:
        self.t = texts
        self._lists = dict(lists)

    async def turn_page(self, update: Update, context: Context) -> None:
        """A page button: the same message shows the other page."""
        query = update.callback_query
        assert query is not None
        match = PAGE_CALLBACK.match(query.data or "")
        await query.answer()
        if match is None or match.group(1) not in self._lists:
            return
        kind = match.group(1)
        text, page = await self._lists[kind](int(match.group(2)))
        try:
            await query.edit_message_text(
                secret_mask(text), reply_markup=page_buttons(kind, page, self.t)
            )
        except BadRequest as error:  # the page did not change since it was shown
            if "not modified" not in str(error).lower():
                raise
