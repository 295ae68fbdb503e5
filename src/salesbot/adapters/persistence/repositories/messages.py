"""Messages, and the outbox the dispatcher drains: claims skip rows another transaction
holds, so two dispatchers never send the same message."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Collection
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from salesbot.adapters.persistence.models import (
    dialog_from_row,
    dialog_values,
    dialogs,
    message_from_row,
    message_values,
    messages,
    new_message_values,
    outbox_priority,
    spelled,
)
from salesbot.adapters.persistence.repositories.dialogs import (
    SqlDialogRepository,
    reopens_a_second_dialog,
)
from salesbot.adapters.persistence.repositories.statements import insert_ignoring_duplicates
from salesbot.adapters.persistence.transaction import Transaction, is_missing_reference
from salesbot.application.errors import DialogAlreadyOpen, RecordNotFound
from salesbot.domain.dialog import Dialog
from salesbot.domain.message import COLD_KINDS, Delivery, Message, OutKind

_c = messages.c
_GET = select(messages).where(_c.id == bindparam("message_id"))
# A message stored without its account takes the dialog's.
_DIALOG_ACCOUNT = (
    select(dialogs.c.account_id).where(dialogs.c.id == bindparam("of_dialog")).scalar_subquery()
)
_INSERT = insert(messages).returning(*messages.c)
_INSERT_ONCE = insert_ignoring_duplicates(messages)
_UPDATE = update(messages).where(_c.id == bindparam("message_id")).returning(_c.dialog_id)
# ... only while its delivery is still the expected one (a draft is decided once).
_UPDATE_IF = _UPDATE.where(_c.delivery == bindparam("expected_delivery", type_=_c.delivery.type))
_IN_ORDER = (_c.timestamp, _c.id)
_FOR_DIALOG = select(messages).where(_c.dialog_id == bindparam("dialog_id"))
_FOR_DIALOG_IN_ORDER = _FOR_DIALOG.order_by(*_IN_ORDER)
_NEWEST_FOR_DIALOG = _FOR_DIALOG.order_by(_c.timestamp.desc(), _c.id.desc()).limit(
    bindparam("last")
)
_NEXT_PENDING = select(func.min(_c.send_after)).where(_c.delivery == Delivery.PENDING)
# Only pending rows and drafts: a message already `sending` is on its way and is never
# touched; a draft that would be cancelled were it pending is superseded with it.
_CANCEL = (
    update(messages)
    .where(
        _c.dialog_id == bindparam("cancel_in"),
        _c.delivery.in_([Delivery.PENDING, Delivery.DRAFT]),
    )
    .values(delivery=Delivery.CANCELLED)
)


@functools.cache
def _cancel_of(kinds: frozenset[OutKind]) -> Any:
    return _CANCEL.where(_c.kind.in_(sorted(kinds)))


def _bound(table: Any, names: tuple[str, ...], prefix: str) -> dict[str, Any]:
    """The columns `names` of `table`, each bound as `<prefix><name>`. (A statement of
    several writes binds no parameter by a column's own name: SQLAlchemy would SET that
    column in each of them.)"""
    return {name: bindparam(f"{prefix}{name}", type_=table.c[name].type) for name in names}


@functools.cache
def _insert_cancelling(names: tuple[str, ...], kinds: frozenset[OutKind]) -> Any:
    """Insert an incoming message unless it is stored already (columns `names`, bound as
    `m_<name>`) and, only if it went in, cancel its dialog's pending messages of `kinds`, in
    one statement; the stored row comes back (none for a duplicate)."""
    stored = (
        insert_ignoring_duplicates(messages).values(_bound(messages, names, "m_")).cte("stored")
    )
    cancelled = (
        _cancel_of(kinds)
        .where(exists(select(stored.c.id)))
        .values(delivery=Delivery.CANCELLED)
        .cte("cancelled")
    )
    return select(stored).add_cte(cancelled)


@functools.cache
def _update_touching(names: tuple[str, ...]) -> Any:
    """Write the message's columns `names` (bound as `m_<name>`) and move its dialog's last
    activity to `dialog_activity_at`, in one statement (no row: no such message)."""
    written = (
        update(messages)
        .where(_c.id == bindparam("message_id"))
        .values(_bound(messages, names, "m_"))
        .returning(_c.dialog_id)
        .cte("written")
    )
    touched = (
        update(dialogs)
        .where(dialogs.c.id == written.c.dialog_id)
        .values(last_activity_at=bindparam("dialog_activity_at"))
        .cte("touched")
    )
    return select(written.c.dialog_id).add_cte(touched)


@functools.cache
def _insert_with_dialog(names: tuple[str, ...], dialog_names: tuple[str, ...]) -> Any:
    """Write the dialog's columns `dialog_names` (bound as `d_<name>`) and, only if the
    dialog is there, insert the message (columns `names`, bound as `m_<name>`), in one
    statement."""
    written = (
        update(dialogs)
        .where(dialogs.c.id == bindparam("written_dialog"))
        .values(_bound(dialogs, dialog_names, "d_"))
        .returning(dialogs.c.id)
        .cte("written")
    )
    row = select(*_bound(messages, names, "m_").values()).select_from(written)
    return insert(messages).from_select(list(names), row).returning(*messages.c).add_cte(written)


_PENDING_PER_ACCOUNT = (
    select(_c.account_id, func.count())
    .where(_c.delivery == Delivery.PENDING)
    .group_by(_c.account_id)
)


def _claim(include_cold: bool, only: frozenset[OutKind] | None = None) -> Any:
    """One statement: lock the next due pending message (skipping rows other transactions
    hold) and mark it `sending`; of the kinds `only` alone, if given.

    A dialog's messages go in the order they were queued: a message is not due while an
    older one of its dialog is still pending or sending (a rescheduled or half-sent one
    holds the dialog's later messages back). A row another transaction is claiming still
    reads as pending here, so it holds them back too.

    The due messages are read in order from ix_messages_outbox_order and the first one not
    held back is taken (the check looks its dialog up in ix_messages_unsent_by_dialog): a
    claim costs the same with ten or ten thousand messages due. The constants are spelled
    out (`spelled`) so that the plan PostgreSQL keeps for the prepared statement can use
    those partial indexes."""
    pending, sending = spelled(Delivery.PENDING.value), spelled(Delivery.SENDING.value)
    due, older = messages.alias("due"), messages.alias("older")
    held_back = (
        select(older.c.id)
        .where(
            older.c.dialog_id == due.c.dialog_id,
            older.c.id < due.c.id,
            older.c.delivery.in_([pending, sending]),
        )
        .exists()
    )
    candidate = select(due.c.id).where(
        due.c.account_id == bindparam("claimer"),
        due.c.delivery == pending,
        due.c.send_after <= bindparam("due_by"),
        ~held_back,
    )
    if only is not None:
        candidate = candidate.where(due.c.kind.in_([spelled(kind.value) for kind in sorted(only)]))
    if not include_cold:
        candidate = candidate.where(
            or_(
                due.c.kind.is_(None),
                due.c.kind.notin_([spelled(kind.value) for kind in sorted(COLD_KINDS)]),
            )
        )
    candidate = (
        candidate.order_by(outbox_priority(due.c.kind), due.c.send_after, due.c.id)
        .limit(spelled(1))
        .with_for_update(skip_locked=True)
    )
    return (
        update(messages)
        .where(_c.id == candidate.scalar_subquery(), _c.delivery == pending)
        .values(delivery=Delivery.SENDING)
        .returning(*messages.c)
    )


@functools.cache
def _claim_with_dialog(include_cold: bool, only: frozenset[OutKind] | None = None) -> Any:
    """The claim and the claimed message's dialog in one round trip (the dialog's columns
    prefixed `d_`; NULL when the dialog is gone)."""
    claimed = _claim(include_cold, only).cte("claimed")
    return select(claimed, *(c.label(f"d_{c.name}") for c in dialogs.c)).select_from(
        claimed.outerjoin(dialogs, dialogs.c.id == claimed.c.dialog_id)
    )


_CLAIM = {True: _claim_with_dialog(True), False: _claim_with_dialog(False)}


class _Prefixed:
    """A row's `d_`-prefixed columns, read as a dialog row."""

    def __init__(self, row: Any) -> None:
        self._row = row

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, f"d_{name}")


class SqlMessageRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def _insert(self, message: Message, *, ignore_duplicates: bool) -> Message | None:
        values: dict[str, Any] = new_message_values(message)
        statement = _INSERT_ONCE if ignore_duplicates else _INSERT
        if message.account_id is None:
            del values["account_id"]
            statement = statement.values(account_id=_DIALOG_ACCOUNT)
            values["of_dialog"] = message.dialog_id
        try:
            row = (await self._tx.execute(statement, values)).first()
        except IntegrityError as exc:
            if is_missing_reference(exc):
                raise RecordNotFound(f"no dialog {message.dialog_id}") from exc
            raise
        return message_from_row(row) if row else None

    async def add(self, message: Message, *, dialog: Dialog | None = None) -> Message:
        if dialog is None or message.account_id is None:
            if dialog is not None:
                await SqlDialogRepository(self._tx).update(dialog)
            stored = await self._insert(message, ignore_duplicates=False)
            assert stored is not None
            return stored
        assert dialog.id == message.dialog_id, "a message is written with its own dialog"
        values = new_message_values(message)
        written = dialog_values(dialog)
        params = {f"m_{name}": value for name, value in values.items()}
        params.update({f"d_{name}": value for name, value in written.items()})
        params["written_dialog"] = dialog.id
        statement = _insert_with_dialog(tuple(values), tuple(written))
        try:
            row = (await self._tx.execute(statement, params)).first()
        except IntegrityError as exc:
            if reopens_a_second_dialog(dialog, exc):
                raise DialogAlreadyOpen(dialog.target_username) from exc
            raise
        if row is None:
            raise RecordNotFound(f"no dialog {dialog.id}")
        return message_from_row(row)

    async def add_incoming(
        self, message: Message, *, cancel_pending: Collection[str] = ()
    ) -> Message | None:
        if not cancel_pending or message.account_id is None:
            stored = await self._insert(message, ignore_duplicates=True)
            if stored is not None and cancel_pending:
                await self.cancel_pending(message.dialog_id, kinds=cancel_pending)
            return stored
        values = new_message_values(message)
        kinds = frozenset(OutKind(kind) for kind in cancel_pending)
        params = {f"m_{name}": value for name, value in values.items()}
        params["cancel_in"] = message.dialog_id
        try:
            row = (await self._tx.execute(_insert_cancelling(tuple(values), kinds), params)).first()
        except IntegrityError as exc:
            if is_missing_reference(exc):
                raise RecordNotFound(f"no dialog {message.dialog_id}") from exc
            raise
        return message_from_row(row) if row else None

    async def get(self, message_id: int) -> Message | None:
        row = (await self._tx.execute(_GET, {"message_id": message_id})).first()
        return message_from_row(row) if row else None

    async def update(
        self, message: Message, *, dialog_activity_at: datetime | None = None
    ) -> None:
        values = message_values(message)
        if dialog_activity_at is None:
            statement, params = _UPDATE, {**values, "message_id": message.id}
        else:
            statement = _update_touching(tuple(values))
            params = {f"m_{name}": value for name, value in values.items()}
            params.update(message_id=message.id, dialog_activity_at=dialog_activity_at)
        if (await self._tx.execute(statement, params)).first() is None:
            raise RecordNotFound(f"no message {message.id}")

    async def update_if(self, message: Message, *, delivery: Delivery) -> bool:
        # The row is locked by the update: a transaction that changed it first makes the
        # condition false here once it commits.
        params = {**message_values(message), "message_id": message.id}
        params["expected_delivery"] = delivery
        return (await self._tx.execute(_UPDATE_IF, params)).first() is not None

    async def list_for_dialog(self, dialog_id: int, *, last: int | None = None) -> list[Message]:
        if last is None:
            rows = await self._tx.execute(_FOR_DIALOG_IN_ORDER, {"dialog_id": dialog_id})
            return [message_from_row(row) for row in rows]
        if last <= 0:
            return []
        rows = await self._tx.execute(_NEWEST_FOR_DIALOG, {"dialog_id": dialog_id, "last": last})
        return [message_from_row(row) for row in reversed(rows.all())]

    async def stream_for_dialog(
        self, dialog_id: int, *, batch_size: int = 1000
    ) -> AsyncIterator[Message]:
        params = {"dialog_id": dialog_id}
        batches = self._tx.stream_batches(_FOR_DIALOG_IN_ORDER, params, batch_size)
        async with contextlib.aclosing(batches):
            async for rows in batches:
                for row in rows:
                    yield message_from_row(row)

    async def claim_next(
        self,
        account_id: int,
        now: datetime,
        *,
        include_cold: bool = True,
        only: Collection[OutKind] | None = None,
    ) -> tuple[Message, Dialog | None] | None:
        params = {"claimer": account_id, "due_by": now}
        if only is None:
            statement = _CLAIM[include_cold]
        else:
            statement = _claim_with_dialog(include_cold, frozenset(OutKind(k) for k in only))
        row = (await self._tx.execute(statement, params)).first()
        if row is None:
            return None
        dialog = dialog_from_row(_Prefixed(row)) if row.d_id is not None else None
        return message_from_row(row), dialog

    async def next_pending_at(self, account_id: int | None = None) -> datetime | None:
        statement = _NEXT_PENDING
        if account_id is not None:
            statement = statement.where(_c.account_id == account_id)
        return (await self._tx.execute(statement)).scalar_one()

    async def list_by_delivery(
        self, delivery: Delivery, *, account_id: int | None = None, dialog_id: int | None = None
    ) -> list[Message]:
        statement = select(messages).where(_c.delivery == delivery).order_by(_c.id)
        if account_id is not None:
            statement = statement.where(_c.account_id == account_id)
        if dialog_id is not None:
            statement = statement.where(_c.dialog_id == dialog_id)
        return [message_from_row(row) for row in await self._tx.execute(statement)]

    async def pending_counts(self) -> dict[int, int]:
        rows = await self._tx.execute(_PENDING_PER_ACCOUNT)
        return {account: int(n) for account, n in map(tuple, rows)}

    async def cancel_pending(self, dialog_id: int, *, kinds: Collection[str] | None = None) -> int:
        statement = _CANCEL if kinds is None else _cancel_of(frozenset(OutKind(k) for k in kinds))
        result = await self._tx.execute(statement, {"cancel_in": dialog_id})
        return result.rowcount
