"""/dnc, /dnc_add @username [reason], /dnc_remove @username: the do-not-contact list by
hand. Taking someone off asks first (Remove / Cancel buttons): after it, /start may write
to them again."""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from salesbot.adapters.admin_bot.catalogue import Texts
from salesbot.adapters.admin_bot.formatting import Formatter
from salesbot.adapters.admin_bot.handlers.common import (
    BadInput,
    Context,
    answers_bad_input,
    command_tail,
    reply,
    split_first,
)
from salesbot.adapters.admin_bot.handlers.paging import page_buttons
from salesbot.adapters.logging import secret_mask
from salesbot.application.admin.do_not_contact import (
    AddToDoNotContact,
    DoNotContactList,
    RemoveFromDoNotContact,
)
from salesbot.application.admin.paging import Page
from salesbot.application.errors import NotOnDoNotContact
from salesbot.domain.do_not_contact import DoNotContact
from salesbot.domain.errors import InvalidUsername
from salesbot.domain.username import normalize_username

PAGES = "dnc"
"""The kind of /dnc's page buttons (handlers/paging.py)."""
REMOVE_BUTTON = re.compile(r"^dnc_(remove|keep):(\w{1,32})$")
_USER_ID = re.compile(r"^(\d{1,18})$")


class DoNotContactCommands:
    def __init__(self, texts: Texts, formatter: Formatter, listing: DoNotContactList) -> None:
        self.t = texts
        self.f = formatter
        self._list = listing

    async def show(self, update: Update, context: Context) -> None:
        """/dnc: who is never written to, the latest added first, a page at a time."""
        text, page = await self.page(1)
        await reply(update, context, text, reply_markup=page_buttons(PAGES, page, self.t))

    async def page(self, n: int) -> tuple[str, Page[DoNotContact]]:
        """Page N of /dnc (the page buttons show it)."""
        page = await self._list.page(n)
        return self.f.do_not_contact_page(page), page

    @answers_bad_input
    async def add(self, update: Update, context: Context) -> None:
        """/dnc_add @username [reason]: no account writes to them from now on."""
        assert update.message is not None
        raw, reason = split_first(command_tail(update.message))
        username = self._username(raw, "dnc_add")
        added = await self._list.add(AddToDoNotContact(username, reason))
        if not added.added:
            raise BadInput(self.t("dnc_already", username=added.username))
        text = self.t("dnc_added", username=added.username)
        if added.open_dialog_id is not None:
            text += "\n" + self.t(
                "dnc_added_open_dialog", n=added.open_dialog_id, username=added.username
            )
        await reply(update, context, text)

    @answers_bad_input
    async def remove(self, update: Update, context: Context) -> None:
        """/dnc_remove @username (or a user id from /dnc): asks before taking them off."""
        assert update.message is not None
        raw, extra = split_first(command_tail(update.message))
        target = self._target(raw)
        if extra:
            raise BadInput(
                self.t("dnc_extra", extra=extra, usage=self.t.command_usage("dnc_remove"))
            )
        who = self._who(target)
        if not await self._list.is_listed(target):
            raise BadInput(self.t("dnc_not_listed", who=who))
        key = target.username or str(target.user_id)
        buttons = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        self.t("dnc_remove_yes"), callback_data=f"dnc_remove:{key}"
                    ),
                    InlineKeyboardButton(self.t("dnc_remove_no"), callback_data=f"dnc_keep:{key}"),
                ]
            ]
        )
        await reply(update, context, self.t("dnc_remove_ask", who=who), reply_markup=buttons)

    async def remove_button(self, update: Update, context: Context) -> None:
        """Remove / Cancel under /dnc_remove's question: the question becomes the answer."""
        query = update.callback_query
        assert query is not None
        await query.answer()
        match = REMOVE_BUTTON.match(query.data or "")
        if match is None:
            return
        target = self._parsed(match.group(2))
        if target is None:
            return
        who = self._who(target)
        if match.group(1) == "keep":
            text = self.t("dnc_kept", who=who)
        else:
            try:
                await self._list.remove(target)
                text = self.t("dnc_removed", who=who)
            except NotOnDoNotContact:  # taken off meanwhile (the button pressed twice)
                text = self.t("dnc_not_listed", who=who)
        await query.edit_message_text(secret_mask(text))

    def _username(self, raw: str, command: str) -> str:
        usage = self.t.command_usage(command)
        example = self.t(f"{command}_example")
        if not raw:
            raise BadInput(self.t("dnc_username_missing", usage=usage, example=example))
        try:
            return normalize_username(raw)
        except InvalidUsername as error:
            raise BadInput(
                self.t(
                    "dnc_invalid_username",
                    raw=error.raw,
                    reason=self.t.reason(error.reason),
                    usage=usage,
                    example=example,
                )
            ) from error

    def _target(self, raw: str) -> RemoveFromDoNotContact:
        """@username, or the user id /dnc shows for an entry without a username."""
        match = _USER_ID.match(raw)
        if match:
            return RemoveFromDoNotContact(user_id=int(match.group(1)))
        return RemoveFromDoNotContact(username=self._username(raw, "dnc_remove"))

    def _parsed(self, key: str) -> RemoveFromDoNotContact | None:
        try:
            return self._target(key)
        except BadInput:
            return None

    def _who(self, target: RemoveFromDoNotContact) -> str:
        if target.username is not None:
            return f"@{target.username}"
        return self.t("dnc_who_id", user_id=target.user_id)
