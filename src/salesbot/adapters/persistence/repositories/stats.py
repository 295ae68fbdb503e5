"""Per-account counts for the admin's /stats, in one query."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.sql import Select

from salesbot.adapters.persistence.models import accounts, dialogs, messages
from salesbot.adapters.persistence.transaction import Transaction
from salesbot.application.ports import AccountStats
from salesbot.domain.dialog import DialogStatus, Outcome
from salesbot.domain.message import Delivery, Direction, OutKind

_m = messages.c
_d = dialogs.c


def _since(moment: ColumnElement[Any], since: datetime | None) -> list[ColumnElement[bool]]:
    return [] if since is None else [moment >= since]


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def _statement(since: datetime | None) -> Select[Any]:
    sent = (
        select(
            _m.account_id,
            func.count().label("messages_sent"),
            _count_if(_m.kind == OutKind.OPENER).label("openers_sent"),
        )
        .where(
            _m.direction == Direction.OUT,
            _m.delivery == Delivery.SENT,
            *_since(func.coalesce(_m.sent_at, _m.timestamp), since),
        )
        .group_by(_m.account_id)
        .subquery("sent")
    )
    received = (
        select(
            _m.account_id,
            func.count().label("messages_received"),
            func.count(_m.dialog_id.distinct()).label("dialogs_replied"),
        )
        .where(_m.direction == Direction.IN, *_since(_m.timestamp, since))
        .group_by(_m.account_id)
        .subquery("received")
    )
    outcomes = (
        select(
            _d.account_id,
            _count_if(_d.outcome == Outcome.GOAL).label("goals"),
            _count_if(_d.status == DialogStatus.OPTED_OUT).label("opt_outs"),
        )
        .where(*_since(_d.last_activity_at, since))
        .group_by(_d.account_id)
        .subquery("outcomes")
    )
    a = accounts.c
    return (
        select(
            a.id,
            a.phone,
            func.coalesce(sent.c.openers_sent, 0),
            func.coalesce(sent.c.messages_sent, 0),
            func.coalesce(received.c.messages_received, 0),
            func.coalesce(received.c.dialogs_replied, 0),
            func.coalesce(outcomes.c.goals, 0),
            func.coalesce(outcomes.c.opt_outs, 0),
        )
        .outerjoin(sent, sent.c.account_id == a.id)
        .outerjoin(received, received.c.account_id == a.id)
        .outerjoin(outcomes, outcomes.c.account_id == a.id)
        .order_by(a.id)
    )


class SqlStatsQuery:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def per_account(self, *, since: datetime | None = None) -> list[AccountStats]:
        rows = await self._tx.execute(_statement(since))
        return [
            AccountStats(
                account_id=row[0],
                phone=row[1],
                openers_sent=int(row[2]),
                messages_sent=int(row[3]),
                messages_received=int(row[4]),
                dialogs_replied=int(row[5]),
                goals=int(row[6]),
                opt_outs=int(row[7]),
            )
            for row in rows
        ]
