"""What was said in a dialog, as SQL: the newest message of each dialog that a search needs.

The conversation's rule (`conversation.prompt.is_speakable`) reads: what the prospect saw
or will see is theirs, and ours unless cancelled, discarded or failed (a draft waiting for
the admin counts: nobody answers over it). These correlated subqueries are
that rule for one dialog row of `dialogs`, for the statements that cannot load messages.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from salesbot.adapters.persistence.models import dialogs, messages
from salesbot.domain.message import Delivery, Direction

_m = messages.c
_NEWEST_FIRST = (_m.timestamp.desc(), _m.id.desc())


def newest_speakable(column: Any) -> Any:
    """`column` of the dialog's newest message the prospect saw or will see."""
    return (
        select(column)
        .where(
            _m.dialog_id == dialogs.c.id,
            or_(
                _m.direction == Direction.IN,
                _m.delivery.is_(None),
                _m.delivery.in_(
                    [Delivery.SENT, Delivery.SENDING, Delivery.PENDING, Delivery.DRAFT]
                ),
            ),
        )
        .order_by(*_NEWEST_FIRST)
        .limit(1)
        .correlate(dialogs)
        .scalar_subquery()
    )


def newest_spoken(column: Any) -> Any:
    """`column` of the dialog's newest message either side actually said (ours only once
    sent)."""
    return (
        select(column)
        .where(
            _m.dialog_id == dialogs.c.id,
            or_(_m.direction == Direction.IN, _m.delivery == Delivery.SENT),
        )
        .order_by(*_NEWEST_FIRST)
        .limit(1)
        .correlate(dialogs)  # two levels down: automatic correlation would not reach it
        .scalar_subquery()
    )
