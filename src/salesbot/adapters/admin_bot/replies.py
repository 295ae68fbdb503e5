"""Sending text to an admin: long answers go as several messages, in order, each within
Telegram's limit of 4096 characters (counted in UTF-16 code units, as Telegram counts)."""

from __future__ import annotations

from telegram import Bot, ForceReply, InlineKeyboardMarkup, Message

from salesbot.adapters.logging import secret_mask

MESSAGE_LIMIT = 4096


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _hard_cut(text: str, limit: int) -> tuple[str, str]:
    """The longest prefix within `limit` UTF-16 units (never splitting a surrogate pair)."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return text[:index], text[index:]
    return text, ""


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Cut `text` into pieces of at most `limit`, at a line break when there is one in the
    second half of a piece, else at a space, else anywhere. Nothing is lost but the
    line break or space a cut falls on."""
    if not text:
        return [""]
    pieces: list[str] = []
    rest = text
    while _units(rest) > limit:
        head, _ = _hard_cut(rest, limit)
        cut = head.rfind("\n")
        if cut < len(head) // 2:
            cut = head.rfind(" ")
        if cut < len(head) // 2:
            pieces.append(head)
            rest = rest[len(head) :]
            continue
        pieces.append(head[:cut])
        rest = rest[cut + 1 :]
    pieces.append(rest)
    return pieces


async def send_text(
    bot: Bot,
    chat_id: int,
    text: str,
    *,
    reply_markup: InlineKeyboardMarkup | ForceReply | None = None,
) -> list[Message]:
    """Send `text` as one or more messages in order; buttons go with the last one. It is
    masked first, as log lines are (`secret_mask`): a provider's error body that repeats
    our key, or any secret a text happened to carry, never reaches a chat."""
    pieces = split_message(secret_mask(text))
    sent = []
    for index, piece in enumerate(pieces):
        markup = reply_markup if index == len(pieces) - 1 else None
        sent.append(await bot.send_message(chat_id, piece, reply_markup=markup))
    return sent


async def edit_text(bot: Bot, chat_id: int, message_id: int, text: str) -> None:
    """Replace the text of a message we sent, masked as `send_text` masks; an edit is one
    message, so a text beyond Telegram's limit is cut there."""
    await bot.edit_message_text(split_message(secret_mask(text))[0], chat_id, message_id)
