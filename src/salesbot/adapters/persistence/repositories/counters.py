"""The dialog's counters of what was said: the all-time /stats without reading every message.

`dialogs.messages_sent`, `openers_sent` and `messages_received` count the dialog's outgoing
messages that were sent (of them, the openers) and its incoming ones. The statements that
store or update a message keep them: on PostgreSQL in the same statement (a CTE), on SQLite
right after it, in the same transaction. A duplicate incoming message that was not stored
counts nothing; a queued, failed or cancelled message counts nothing; a message counts from
the moment it is `sent`, whichever statement writes that. `recount` rebuilds them all from
the messages (adopting the seed's rows, which arrive by INSERT ... SELECT).

A dialog's said messages are its account's (`reassign` only moves dialogs where nothing was
said yet), so the counters summed per `dialogs.account_id` are the per-account figures.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.sql import ColumnCollection
from sqlalchemy.sql.dml import Update

from salesbot.adapters.persistence.models import dialogs, messages
from salesbot.domain.message import Delivery, Direction, Message, OutKind

_d = dialogs.c


class Said(NamedTuple):
    """What one message adds to its dialog's counters."""

    sent: int
    openers: int
    received: int

    @classmethod
    def of(cls, direction: Direction, delivery: Delivery | None, kind: OutKind | None) -> Said:
        sent = direction is Direction.OUT and delivery is Delivery.SENT
        return cls(int(sent), int(sent and kind is OutKind.OPENER), int(direction is Direction.IN))

    @classmethod
    def of_message(cls, message: Message) -> Said:
        return cls.of(message.direction, message.delivery, message.kind)

    def minus(self, other: Said) -> Said:
        return Said(*(mine - theirs for mine, theirs in zip(self, other, strict=True)))


NOTHING = Said(0, 0, 0)


_ONE, _ZERO = literal_column("1", Integer()), literal_column("0", Integer())


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, _ONE), else_=_ZERO)


def sent(row: ColumnCollection[str, Any]) -> ColumnElement[int]:
    """1 for a row of `messages` (or of a CTE with its columns) that counts as sent, else 0."""
    return _flag(and_(row.direction == Direction.OUT, row.delivery == Delivery.SENT))


def opener_sent(row: ColumnCollection[str, Any]) -> ColumnElement[int]:
    return _flag(
        and_(
            row.direction == Direction.OUT,
            row.delivery == Delivery.SENT,
            row.kind == OutKind.OPENER,
        )
    )


def received(row: ColumnCollection[str, Any]) -> ColumnElement[int]:
    return _flag(row.direction == Direction.IN)


def add_to_dialog(
    dialog_id: ColumnElement[Any],
    sent: ColumnElement[int],
    openers: ColumnElement[int],
    received: ColumnElement[int] | None = None,
) -> Update:
    """UPDATE dialogs: the counters of `dialog_id` grow by the given amounts."""
    values: dict[str, Any] = {
        "messages_sent": _d.messages_sent + sent,
        "openers_sent": _d.openers_sent + openers,
    }
    if received is not None:
        values["messages_received"] = _d.messages_received + received
    return update(dialogs).where(_d.id == dialog_id).values(values)


def _added(name: str) -> Any:
    return bindparam(name, type_=Integer())


# SQLite (and any statement that knows the amounts already): bound as `dialog_id`,
# `add_sent`, `add_openers`, `add_received`.
ADD = add_to_dialog(
    bindparam("counted_dialog"),
    _added("add_sent"),
    _added("add_openers"),
    _added("add_received"),
)


def _recount() -> Update:
    m = messages.c
    per_dialog = (
        select(
            m.dialog_id,
            func.sum(sent(m)).label("sent"),
            func.sum(opener_sent(m)).label("openers"),
            func.sum(received(m)).label("received"),
        )
        .group_by(m.dialog_id)
        .subquery("said")
    )
    return (
        update(dialogs)
        .where(_d.id == per_dialog.c.dialog_id)
        .values(
            messages_sent=per_dialog.c.sent,
            openers_sent=per_dialog.c.openers,
            messages_received=per_dialog.c.received,
        )
    )


RECOUNT = _recount()
"""Every dialog's counters from its messages (one pass; dialogs without messages keep the
zeros they start with)."""
