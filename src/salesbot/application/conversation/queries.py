"""The conversation's searches across dialogs, as a query port answered in SQL (tested on
PostgreSQL): which dialogs wait for an answer, which for a follow-up."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


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
