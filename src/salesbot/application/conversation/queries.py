"""The conversation's searches across dialogs, as a query port answered in SQL (tested on
PostgreSQL): which dialogs wait for an answer, which for a follow-up, which chats an
account should check for messages it missed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from salesbot.domain.peer import Peer


@dataclass(frozen=True)
class OpenChat:
    """An open dialog's chat, as the check for missed messages needs it."""

    dialog_id: int
    peer: Peer
    newest_message_id: int | None
    """The newest Telegram message id the dialog has stored (either way), if any."""


class ConversationQueries(Protocol):
    async def awaiting_answer(self) -> list[int]:
        """Active dialogs with a known prospect whose newest message the prospect saw or
        wrote is theirs (a crash or a model outage left it unanswered), by number."""
        ...

    async def awaiting_follow_up(self, *, silent_since: datetime, max_follow_ups: int) -> list[int]:
        """Active dialogs whose newest message is ours, sent at or before `silent_since`,
        with fewer than `max_follow_ups` follow-ups sent and nothing of ours still queued,
        by number."""
        ...

    async def open_chats(self, account_id: int) -> list[OpenChat]:
        """The account's open dialogs whose prospect it has a peer for, by number."""
        ...
