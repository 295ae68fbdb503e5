"""/help, and the answers to what no other handler took: an unknown command, plain text,
a /cancel with nothing to cancel."""

from __future__ import annotations

from telegram import Update

from salesbot.adapters.admin_bot.catalogue import Texts
from salesbot.adapters.admin_bot.formatting import Formatter
from salesbot.adapters.admin_bot.handlers.common import (
    Context,
    command_name,
    delete_secret,
    reply,
    sent_while_offline,
)


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
        """Plain text outside a conversation. Text written while the bot was down is
        deleted: a restart ends every conversation, so a 2FA password or a proxy password
        meant for /add_account would otherwise stay in the chat."""
        assert update.message is not None
        if sent_while_offline(update.message, context):
            await delete_secret(update.message, "text sent while the bot was down")
            await reply(update, context, self.t("sent_while_offline"))
            return
        await reply(update, context, self.t("not_a_command"))

    async def nothing_to_cancel(self, update: Update, context: Context) -> None:
        await reply(update, context, self.t("nothing_to_cancel"))
