"""The conversation's searches across dialogs in SQL (ConversationQueries)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, exists, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from salesbot.adapters.persistence.models import dialogs, messages
from salesbot.adapters.persistence.said import newest_speakable, newest_spoken
from salesbot.adapters.persistence.transaction import reading
from salesbot.domain.dialog import DialogStatus
from salesbot.domain.message import Delivery, Direction

_d, _m = dialogs.c, messages.c
_AWAITING_ANSWER = (
    select(_d.id)
    .where(
        _d.status == DialogStatus.ACTIVE,
        _d.target_user_id.is_not(None),
        newest_speakable(_m.direction) == Direction.IN,
    )
    .order_by(_d.id)
)
_last = messages.alias("last_message")
_AWAITING_FOLLOW_UP = (
    select(_d.id)
    .where(
        _d.status == DialogStatus.ACTIVE,
        _d.follow_ups_sent < bindparam("max_follow_ups"),
        ~exists().where(
            _m.dialog_id == _d.id, _m.delivery.in_([Delivery.PENDING, Delivery.SENDING])
        ),
        exists().where(
            _last.c.id == newest_spoken(_m.id),
            _last.c.direction == Direction.OUT,
            func.coalesce(_last.c.sent_at, _last.c.timestamp) <= bindparam("silent_since"),
        ),
    )
    .order_by(_d.id)
)


class SqlConversationQueries:
    """Implements ConversationQueries."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def awaiting_answer(self) -> list[int]:
        async with reading(self._engine) as tx:
            return list((await tx.execute(_AWAITING_ANSWER)).scalars())

    async def awaiting_follow_up(self, *, silent_since: datetime, max_follow_ups: int) -> list[int]:
        params = {"silent_since": silent_since, "max_follow_ups": max_follow_ups}
        async with reading(self._engine) as tx:
            return list((await tx.execute(_AWAITING_FOLLOW_UP, params)).scalars())
