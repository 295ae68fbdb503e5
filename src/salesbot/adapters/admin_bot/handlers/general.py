"""/help, and the answers to what no other handler took: an unknown command, plain text,
a /cancel with nothing to cancel."""

from __future__ import annotations

from telegram import Update

from salesbot.adapters.admin_bot.catalogue import Texts
from salesbot.adapters.admin_bot.formatting import Formatter
from salesbot.adapters.admin_bot.handlers.common import Context, command_name, reply


class GeneralCommands:
    def __init__(self, texts: Texts, formatter: Formatter, tz_name: str) -> None:
        self.t = texts
        self.f = formatter
        self._tz_name = tz_name

    async def help(self, update: Update, context: Context) -> None:
        """/help: every command with its arguments."""
        await reply(update, context, self.f.help(self._tz_name))

    async def unknown_command(self, update: Update, context: Context) -> None:
        assert update.message is not None
        await reply(
            update, context, self.t("unknown_command", command=command_name(update.message))
        )

    async def not_a_command(self, update: Update, context: Context) -> None:
        await reply(update, context, self.t("not_a_command"))

    async def nothing_to_cancel(self, update: Update, context: Context) -> None:
        await reply(update, context, self.t("nothing_to_cancel"))
