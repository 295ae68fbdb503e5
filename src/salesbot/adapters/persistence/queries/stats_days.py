"""/stats' chart: per account and day, the messages sent and received and the goals reached.

The application cuts the days (midnight to midnight in the admin's time zone, so a day of a
clock change keeps its 23 or 25 hours); PostgreSQL's `width_bucket` puts each moment in its
day against those bounds. The messages are found as the period's /stats finds them
(`stats.py`): through the indexes on `timestamp` and `sent_at`, then the precise condition
(a sent message counts at `sent_at`, or at `timestamp` when that is missing). A goal counts
on its dialog's last activity: dialogs keep no moment of reaching it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select, union_all
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql import CompoundSelect

from salesbot.adapters.persistence.models import UtcDateTime, dialogs, messages
from salesbot.domain.dialog import Outcome
from salesbot.domain.message import Delivery, Direction

_m = messages.c
_d = dialogs.c


def _between(moment: ColumnElement[Any], first: datetime, last: datetime) -> ColumnElement[bool]:
    return and_(moment >= first, moment < last)


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def per_day_statement(bounds: Sequence[datetime]) -> CompoundSelect:
    """Rows of (account id, day number from 1, sent, received, goals) for the days `bounds`
    cut, only where something happened; an (account, day) may come in two rows (its
    messages, its goals), to be added up."""
    utc = [moment.astimezone(timezone.utc) for moment in bounds]
    first, last = utc[0], utc[-1]
    edges = literal(utc, ARRAY(UtcDateTime()))
    is_sent = and_(_m.direction == Direction.OUT, _m.delivery == Delivery.SENT)
    sent_moment = func.coalesce(_m.sent_at, _m.timestamp)
    received = and_(_m.direction == Direction.IN, _between(_m.timestamp, first, last))
    sent = and_(is_sent, _between(sent_moment, first, last))
    message_day = func.width_bucket(case((is_sent, sent_moment), else_=_m.timestamp), edges)
    per_message_day = (
        select(
            _m.account_id,
            message_day.label("day"),
            _count_if(sent).label("sent"),
            _count_if(received).label("received"),
            literal(0).label("goals"),
        )
        .where(
            # Indexable first; then only what counts, so that no row falls outside the days.
            or_(
                _between(_m.timestamp, first, last),
                and_(_m.delivery == Delivery.SENT, _between(_m.sent_at, first, last)),
            ),
            or_(sent, received),
        )
        .group_by(_m.account_id, message_day)
    )
    goal_day = func.width_bucket(_d.last_activity_at, edges)
    per_goal_day = (
        select(
            _d.account_id,
            goal_day.label("day"),
            literal(0).label("sent"),
            literal(0).label("received"),
            func.count().label("goals"),
        )
        .where(_d.outcome == Outcome.GOAL, _between(_d.last_activity_at, first, last))
        .group_by(_d.account_id, goal_day)
    )
    return union_all(per_message_day, per_goal_day)
