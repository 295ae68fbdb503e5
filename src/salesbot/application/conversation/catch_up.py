"""What an account's open chats hold that salesbot has not seen: read when it connects.

Telegram's difference (replayed by the adapter from the stored update state) brings back
what was written while salesbot was away. Where it cannot — no state stored yet (the first
start of an account, or of this version), or Telegram refusing a difference from that long
ago — the chats themselves still hold it. So after connecting, each account asks Telegram
once for the newest message of each of its open dialogs' chats (one call per hundred
chats), and reads the history only of the chats whose newest message is not stored: no
more calls than chats with news, plus one. What it finds goes through the intake like any
message; what is stored already is not stored again.

Bounded: ACCOUNTS_AT_ONCE accounts check at a time, and the adapter rate-limits each
account's calls together with its other reads (a few a second), so 200 accounts coming back
make at most ~150 calls a second, spread over 50 sessions: no storm, no FloodWait, and
2,000 missed messages stored within a minute (bench/catch_up.py).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from salesbot.application.conversation.intake import Intake
from salesbot.application.conversation.queries import ConversationQueries, OpenChat
from salesbot.application.ports import IncomingMessage, TelegramMessenger

log = logging.getLogger(__name__)

ACCOUNTS_AT_ONCE = 50


@dataclass(frozen=True)
class CaughtUp:
    chats: int
    """Open chats checked."""
    with_news: int
    """Of those, chats whose newest message was not stored, so their history was read."""
    messages: int
    """Messages found in those histories that were not stored (handed to the intake)."""


class CatchUp:
    def __init__(
        self,
        queries: ConversationQueries,
        messenger: TelegramMessenger,
        intake: Intake,
        *,
        accounts_at_once: int = ACCOUNTS_AT_ONCE,
        history_limit: int = 100,
    ) -> None:
        self._queries = queries
        self._messenger = messenger
        self._intake = intake
        self._slots = asyncio.Semaphore(accounts_at_once)
        self._limit = history_limit

    async def __call__(self, account_id: int) -> CaughtUp:
        return await self.account(account_id)

    async def account(self, account_id: int) -> CaughtUp:
        async with self._slots:
            chats = await self._queries.open_chats(account_id)
            if not chats:
                return CaughtUp(0, 0, 0)
            newest = await self._messenger.newest_message_ids(
                account_id, [chat.peer for chat in chats]
            )
            behind = [chat for chat in chats if _has_news(chat, newest.get(chat.peer.user_id))]
            found = 0
            for chat in behind:
                found += await self._read(account_id, chat)
        if found:
            log.info(
                "account %s: %d message(s) missed in %d chat(s) were found in their history",
                account_id, found, len(behind),
            )
        return CaughtUp(len(chats), len(behind), found)

    async def _read(self, account_id: int, chat: OpenChat) -> int:
        history = await self._messenger.recent_messages(account_id, chat.peer, limit=self._limit)
        known = chat.newest_message_id or 0
        unseen = sorted(
            (item for item in history if item.telegram_message_id > known),
            key=lambda item: item.telegram_message_id,
        )
        newest_theirs = max(
            (item.telegram_message_id for item in unseen if not item.outgoing), default=None
        )
        for item in unseen:
            await self._intake.receive(
                IncomingMessage(
                    account_id=account_id,
                    user_id=chat.peer.user_id,
                    username=chat.peer.username,
                    text=item.text,
                    telegram_message_id=item.telegram_message_id,
                    date=item.date,
                    outgoing=item.outgoing,
                    media=item.media,
                ),
                # The chat is marked read once, with the prospect's newest message.
                mark_read=item.telegram_message_id == newest_theirs,
            )
        return len(unseen)


def _has_news(chat: OpenChat, newest_in_chat: int | None) -> bool:
    if newest_in_chat is None:
        return False
    return chat.newest_message_id is None or newest_in_chat > chat.newest_message_id
