"""What every command handler shares: reading its arguments, answering a wrong input with
what was expected, replying in order."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from telegram import ForceReply, InlineKeyboardMarkup, Message, MessageEntity, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from salesbot.adapters.admin_bot.catalogue import Texts
from salesbot.adapters.admin_bot.replies import send_text
from salesbot.domain.text import storable

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
ONLINE_SINCE = "online_since"
"""The `bot_data` key of the moment the bot started taking updates (UTC)."""
Handler = TypeVar("Handler", bound=Callable[..., Awaitable[Any]])

_NUMBER = re.compile(r"^#?(\d{1,18})$")


class BadInput(Exception):
    """The admin typed something the command cannot take; `text` says what was expected."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def answers_bad_input(callback: Handler) -> Handler:
    """Turn BadInput into a reply. Returning None keeps a conversation in its state (and
    does not start one from an entry point)."""

    @functools.wraps(callback)
    async def wrapper(self: Any, update: Update, context: Context) -> Any:
        try:
            return await callback(self, update, context)
        except BadInput as bad:
            await reply(update, context, bad.text)
            return None

    return wrapper  # type: ignore[return-value]


async def reply(
    update: Update,
    context: Context,
    text: str,
    *,
    reply_markup: InlineKeyboardMarkup | ForceReply | None = None,
) -> list[Message]:
    chat = update.effective_chat
    assert chat is not None
    return await send_text(context.bot, chat.id, text, reply_markup=reply_markup)


def command_tail(message: Message) -> str:
    """What follows the command, line breaks kept (`context.args` would lose them), made
    storable (no NUL: `/say`, `/start` context and `/set_prompt` text are stored)."""
    return storable(_tail(message))


def _tail(message: Message) -> str:
    entities = message.entities or message.caption_entities or ()
    text = message.text or message.caption or ""
    for entity in entities:
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            command = (
                message.parse_entity(entity)
                if message.text
                else message.parse_caption_entity(entity)
            )
            return text[len(command) :].strip()
    return text.strip()


def command_name(message: Message) -> str:
    """The command as typed: `/frobnicate 5` -> `/frobnicate`."""
    text = message.text or message.caption or ""
    return text.split(maxsplit=1)[0] if text else ""


def split_first(tail: str) -> tuple[str, str]:
    """First word and the rest (rest keeps its line breaks)."""
    parts = tail.split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0], parts[1].strip() if len(parts) > 1 else ""


def dialog_number(
    tail: str, t: Texts, command: str, *, example: str | None = None, rest_allowed: bool = False
) -> tuple[int, str]:
    """The dialog number N that opens `tail`, and what follows it."""
    usage = t.command_usage(command)
    example = example or f"/{command} 12"
    first, rest = split_first(tail)
    if not first:
        raise BadInput(t("n_missing", usage=usage, example=example))
    match = _NUMBER.match(first)
    if not match:
        raise BadInput(t("n_not_number", raw=first, usage=usage, example=example))
    if rest and not rest_allowed:
        raise BadInput(t("n_extra", extra=rest, usage=usage, example=example))
    return int(match.group(1)), rest


async def delete_secret(message: Message, holding: str) -> None:
    """Best effort: a message that cannot be deleted never stops what is under way."""
    try:
        await message.delete()
    except TelegramError as error:
        log.warning("could not delete the message holding %s: %s", holding, error)


def sent_while_offline(message: Message, context: Context) -> bool:
    """The message was written before this run of the bot started taking updates.
    Telegram dates messages to the second, so the same second counts as online."""
    online_since: datetime | None = context.bot_data.get(ONLINE_SINCE)
    return online_since is not None and message.date < online_since.replace(microsecond=0)
