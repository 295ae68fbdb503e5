"""Asking @SpamBot from an account: send /start, read its answer from the chat.

The answer is read back from the chat's history (polled, a bounded number of times)
rather than caught by a handler: the account's handlers belong to the intake, and the
bot's message needs no place there (it has no dialog, so the intake stores nothing of it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiolimiter import AsyncLimiter
from pyrogram import enums, raw

from salesbot.adapters.telegram.errors import translated
from salesbot.application.errors import TelegramUnavailable

SPAM_BOT = "spambot"
ANSWER_TIMEOUT = 15.0
"""Seconds SpamBot has to answer (it usually does within one)."""
POLL_SECONDS = 1.0
LOOK_BACK = 5
"""Newest messages of the chat read each time: SpamBot answers /start with one."""

Sleep = Callable[[float], Awaitable[None]]


async def ask_spam_bot(
    client: Any,
    *,
    reads: AsyncLimiter,
    sleep: Sleep,
    timeout: float = ANSWER_TIMEOUT,
    poll: float = POLL_SECONDS,
) -> str:
    """SpamBot's answer to /start from `client`'s account; TelegramUnavailable when none
    came within `timeout` seconds."""
    with translated("spam bot"):
        peer = await client.resolve_peer(SPAM_BOT)
        if not isinstance(peer, raw.types.InputPeerUser):
            raise TelegramUnavailable(f"@{SPAM_BOT} is not a bot account here")
        sent = await client.send_message(
            chat_id=peer.user_id, text="/start", parse_mode=enums.ParseMode.DISABLED
        )
    waited = 0.0
    while True:
        async with reads:
            with translated("spam bot"):
                answer = await _answer_after(client, peer.user_id, sent.id)
        if answer is not None:
            return answer
        if waited >= timeout:
            raise TelegramUnavailable(f"@{SPAM_BOT} did not answer within {timeout:.0f} s")
        await sleep(poll)
        waited += poll


async def _answer_after(client: Any, chat_id: int, sent_id: int) -> str | None:
    """The text of the bot's first message after ours, None while there is none."""
    answers = []
    async for message in client.get_chat_history(chat_id, limit=LOOK_BACK):
        text = message.text or message.caption
        if message.id > sent_id and not message.outgoing and text:
            answers.append(str(text))
    return answers[-1] if answers else None  # newest first: the last is the first answer
