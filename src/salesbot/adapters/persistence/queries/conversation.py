"""The conversation's searches across dialogs in SQL (ConversationQueries)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, exists, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from salesbot.adapters.persistence.models import OPEN_DIALOG_STATUSES, dialogs, messages, peers
from salesbot.adapters.persistence.said import newest_speakable, newest_spoken
from salesbot.adapters.persistence.transaction import reading
from salesbot.application.conversation.queries import OpenChat
from salesbot.domain.dialog import DialogStatus
from salesbot.domain.message import Delivery, Direction
from salesbot.domain.peer import Peer

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
            _m.dialog_id == _d.id,
            _m.delivery.in_([Delivery.PENDING, Delivery.SENDING, Delivery.DRAFT]),
        ),
        exists().where(
            _last.c.id == newest_spoken(_m.id),
            _last.c.direction == Direction.OUT,
            func.coalesce(_last.c.sent_at, _last.c.timestamp) <= bindparam("silent_since"),
        ),
    )
    .order_by(_d.id)
)

_p = peers.c
_OPEN_CHATS = (
    select(
        _d.id,
        # A renamed prospect may have a peer under each name (one user id, one access
        # hash for the account): one chat is one chat.
        func.min(_p.username).label("username"),
        _p.user_id,
        _p.access_hash,
        select(func.max(_m.telegram_message_id))
        .where(_m.dialog_id == _d.id)
        .scalar_subquery()
        .label("newest_message_id"),
    )
    .join(peers, (_p.account_id == _d.account_id) & (_p.user_id == _d.target_user_id))
    .where(_d.account_id == bindparam("account_id"), _d.status.in_(OPEN_DIALOG_STATUSES))
    .group_by(_d.id, _p.user_id, _p.access_hash)
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

    async def open_chats(self, account_id: int) -> list[OpenChat]:
        async with reading(self._engine) as tx:
            rows = await tx.execute(_OPEN_CHATS, {"account_id": account_id})
            return [
                OpenChat(
                    dialog_id=row.id,
                    peer=Peer(
                        account_id=account_id,
                        username=row.username,
                        user_id=row.user_id,
                        access_hash=row.access_hash,
                    ),
                    newest_message_id=row.newest_message_id,
                )
                for row in rows
            ]
