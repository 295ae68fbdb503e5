"""Messages, and the outbox the dispatcher drains: claims skip rows another transaction
holds, so two dispatchers never send the same message."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Collection
from datetime import datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Integer,
    String,
    bindparam,
    exists,
    false,
    func,
    insert,
    literal_column,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from salesbot.adapters.persistence.driver import Hot
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
from salesbot.adapters.persistence.repositories import counters, export_copy
from salesbot.adapters.persistence.repositories.dialogs import (
    SqlDialogRepository,
    reopens_a_second_dialog,
)
from salesbot.adapters.persistence.repositories.statements import (
    as_text,
    insert_ignoring_duplicates,
    precompiled,
)
from salesbot.adapters.persistence.transaction import Transaction, is_missing_reference
from salesbot.application.errors import DialogAlreadyOpen, RecordNotFound
from salesbot.application.ports import ExportRow
from salesbot.domain.dialog import Dialog
from salesbot.domain.message import Delivery, Direction, Message, OutKind

_c = messages.c
_GET = Hot(select(messages).where(_c.id == bindparam("message_id")))


@functools.cache
def _update(names: tuple[str, ...]) -> Hot:
    """Write the message's columns `names` (bound by their names)."""
    values = {name: bindparam(name, type_=_c[name].type) for name in names}
    return Hot(update(messages).where(_c.id == bindparam("message_id")).values(values))


@functools.cache
def _update_counting(names: tuple[str, ...], *, touch: bool) -> Hot:
    """PostgreSQL: write the message's `names` (bound as `m_<name>`) and keep its dialog's
    counters in one statement: the row is locked and read as it was (`was`), so a message
    becoming `sent` counts once, whoever else writes it. With `touch` the dialog's last
    activity moves to `dialog_activity_at` too (rowcount: 0 when there is no such message);
    without, the dialog is written only when a counter changes (one row: how many messages
    were written)."""
    was = (
        select(_c.id, _c.direction, _c.delivery, _c.kind)
        .where(_c.id == bindparam("message_id"))
        .with_for_update()
        .cte("was")
    )
    written = (
        update(messages)
        .where(_c.id == was.c.id)
        .values({name: bindparam(f"m_{name}", type_=_c[name].type) for name in names})
        .returning(
            _c.dialog_id,
            (counters.sent(_c) - counters.sent(was.c)).label("sent"),
            (counters.opener_sent(_c) - counters.opener_sent(was.c)).label("openers"),
        )
        .cte("written")
    )
    w = written.c
    counted = counters.add_to_dialog(w.dialog_id, w.sent, w.openers)
    if touch:
        return Hot(counted.values(last_activity_at=bindparam("dialog_activity_at")))
    counted_cte = counted.where(or_(w.sent != 0, w.openers != 0)).cte("counted")
    return Hot(select(func.count()).select_from(written).add_cte(counted_cte))


# SQLite: the message as it was, then the update, then its dialog's counters and activity.
_WAS = select(_c.dialog_id, _c.direction, _c.delivery, _c.kind).where(
    _c.id == bindparam("message_id")
)
_ADD_AND_TOUCH = counters.ADD.values(last_activity_at=bindparam("dialog_activity_at"))
_IN_ORDER = (_c.timestamp, _c.id)
_FOR_DIALOG = select(messages).where(_c.dialog_id == bindparam("dialog_id"))
_FOR_DIALOG_IN_ORDER = _FOR_DIALOG.order_by(*_IN_ORDER)
_NEWEST_FOR_DIALOG = Hot(
    _FOR_DIALOG.order_by(_c.timestamp.desc(), _c.id.desc()).limit(bindparam("last"))
)
_ALL = select(messages).order_by(_c.dialog_id, *_IN_ORDER)
# Only what a transcript shows, in ExportRow's order: no Message built per row.
_EXPORT_COLUMNS = (
    _c.dialog_id,
    _c.direction,
    _c.content,
    _c.timestamp,
    _c.sent_at,
    _c.delivery,
    _c.kind,
)
# PostgreSQL's driver already gives aware UTC datetimes: read the columns untyped and map
# the enum strings with plain dicts, skipping SQLAlchemy's per-value processors. (Used
# only where COPY is not: a session whose DateStyle is not ISO.) SQLite's text timestamps
# keep the typed read.
_EXPORT_COLUMNS_RAW = (
    _c.dialog_id,
    type_coerce(_c.direction, String),
    _c.content,
    type_coerce(_c.timestamp, DateTime(timezone=True)),
    type_coerce(_c.sent_at, DateTime(timezone=True)),
    type_coerce(_c.delivery, String),
    type_coerce(_c.kind, String),
)


def _export_rows(raw: bool, first_dialog_id: int | None, last_dialog_id: int | None) -> Any:
    statement = select(*(_EXPORT_COLUMNS_RAW if raw else _EXPORT_COLUMNS)).order_by(
        _c.dialog_id, *_IN_ORDER
    )
    if first_dialog_id is not None:
        statement = statement.where(_c.dialog_id >= first_dialog_id)
    if last_dialog_id is not None:
        statement = statement.where(_c.dialog_id <= last_dialog_id)
    return statement


_DIRECTIONS = {d.value: d for d in Direction}
_DELIVERIES: dict[str | None, Delivery | None] = {d.value: d for d in Delivery} | {None: None}
_KINDS: dict[str | None, OutKind | None] = {k.value: k for k in OutKind} | {None: None}
# A message stored without its account takes the dialog's.
_DIALOG_ACCOUNT = (
    select(dialogs.c.account_id).where(dialogs.c.id == bindparam("of_dialog")).scalar_subquery()
)


@functools.cache
def _insert_statement(dialect: str, *, ignore_duplicates: bool, take_dialog_account: bool) -> Any:
    statement = (
        insert_ignoring_duplicates(messages)[dialect]
        if ignore_duplicates
        else insert(messages).returning(*messages.c)
    )
    return statement.values(account_id=_DIALOG_ACCOUNT) if take_dialog_account else statement


@functools.cache
def _counted_insert(keys: tuple[str, ...], *, ignore_duplicates: bool) -> Hot:
    """PostgreSQL: store a message that counts (incoming, or sent) and add it to its
    dialog's counters in one statement; a duplicate that is not stored adds nothing.
    Bound: the columns `keys` (`of_dialog` for the dialog's account), `add_sent`,
    `add_openers`, `add_received`."""
    values: dict[str, Any] = {
        key: bindparam(key, type_=_c[key].type) for key in keys if key != "of_dialog"
    }
    if "of_dialog" in keys:
        values["account_id"] = _DIALOG_ACCOUNT
    statement = postgresql.insert(messages).values(values)
    if ignore_duplicates:
        statement = statement.on_conflict_do_nothing()
    stored = statement.returning(*messages.c).cte("stored")
    counted = counters.add_to_dialog(
        stored.c.dialog_id,
        bindparam("add_sent", type_=Integer()),
        bindparam("add_openers", type_=Integer()),
        bindparam("add_received", type_=Integer()),
    ).cte("counted")
    return Hot(as_text(select(stored).add_cte(counted), "postgresql", messages.c))


# Spelled out, not bound: the partial indexes the claim reads serve its prepared plan.
_PENDING, _SENDING = spelled(Delivery.PENDING.value), spelled(Delivery.SENDING.value)


def _claim(include_openers: bool) -> Any:
    """One statement: lock the next due pending message (skipping rows other transactions
    hold; SQLite has one writer at a time and needs no lock) and mark it `sending`.

    A dialog's messages go in the order they were queued: a message is not due while an
    older one of its dialog is still pending or sending (a rescheduled or half-sent one
    holds the dialog's later messages back). A row another transaction is claiming still
    reads as pending here, so it holds them back too.

    On PostgreSQL the due messages are read in order from ix_messages_outbox_order and the
    first one not held back is taken (the check looks its dialog up in
    ix_messages_unsent_by_dialog): a claim costs the same with ten or ten thousand messages
    due. Sorting every due message and checking each against its dialog's whole history
    took ~6 ms per claim with 750 due (bench/outbox_claim.py; now ~0.3 ms)."""
    due, older = messages.alias("due"), messages.alias("older")
    held_back = (
        select(older.c.id)
        .where(
            older.c.dialog_id == due.c.dialog_id,
            older.c.id < due.c.id,
            older.c.delivery.in_([_PENDING, _SENDING]),
        )
        .exists()
    )
    candidate = select(due.c.id).where(
        due.c.account_id == bindparam("claimer"),
        due.c.delivery == _PENDING,
        due.c.send_after <= bindparam("due_by"),
        ~held_back,
    )
    if not include_openers:
        candidate = candidate.where(
            or_(due.c.kind.is_(None), due.c.kind != spelled(OutKind.OPENER.value))
        )
    candidate = (
        candidate.order_by(outbox_priority(due.c.kind), due.c.send_after, due.c.id)
        .limit(spelled(1))  # bound, it left the prepared plan guessing how many rows
        .with_for_update(skip_locked=True)
    )
    return (
        update(messages)
        .where(_c.id == candidate.scalar_subquery(), _c.delivery == _PENDING)
        .values(delivery=Delivery.SENDING)
        .returning(*messages.c)
    )


_CLAIM = {True: Hot(_claim(True)), False: Hot(_claim(False))}


def _claim_with_dialog(include_openers: bool) -> Any:
    """PostgreSQL: the claim and the claimed message's dialog in one round trip (the
    dialog's columns prefixed `d_`)."""
    claimed = _claim(include_openers).cte("claimed")
    return select(claimed, *(c.label(f"d_{c.name}") for c in dialogs.c)).select_from(
        claimed.outerjoin(dialogs, dialogs.c.id == claimed.c.dialog_id)
    )


_CLAIM_WITH_DIALOG = {
    True: Hot(_claim_with_dialog(True)),
    False: Hot(_claim_with_dialog(False)),
}


class _Prefixed:
    """A row's `d_`-prefixed columns, read as a dialog row."""

    def __init__(self, row: Any) -> None:
        self._row = row

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, f"d_{name}")

_NEXT_PENDING = select(func.min(_c.send_after)).where(_c.delivery == _PENDING)
_NEXT_PENDING_OF_ACCOUNT = Hot(_NEXT_PENDING.where(_c.account_id == bindparam("pending_of")))
# Only pending rows: a message already `sending` is on its way and is never touched.
_CANCEL = (
    update(messages)
    .where(_c.dialog_id == bindparam("cancel_in"), _c.delivery == _PENDING)
    .values(delivery=Delivery.CANCELLED)
)
_GET_DIALOG = Hot(select(dialogs).where(dialogs.c.id == bindparam("claimed_of")))


def _of_kinds(kinds: frozenset[OutKind]) -> Any:
    """The message is of one of `kinds` (spelled out like `_PENDING`)."""
    return or_(false(), *(_c.kind == spelled(kind.value) for kind in sorted(kinds)))


@functools.cache
def _cancel(kinds: frozenset[OutKind] | None) -> Hot:
    """Cancel a dialog's pending messages (of `kinds` only, when given)."""
    if kinds is None:
        return Hot(_CANCEL)
    # Spelled out, not IN: a fixed statement for the driver (see Hot).
    return Hot(_CANCEL.where(_of_kinds(kinds)))


@functools.cache
def _add_incoming_cancelling(names: tuple[str, ...], kinds: frozenset[OutKind]) -> Hot:
    """PostgreSQL: insert an incoming message unless it is stored already (columns `names`,
    bound by their names) and, only if it went in, count it on its dialog and cancel the
    dialog's pending messages of `kinds`; the stored row comes back (none for a duplicate)."""
    stored = (
        postgresql.insert(messages)
        .values({name: bindparam(name, type_=_c[name].type) for name in names})
        .on_conflict_do_nothing()
        .returning(*messages.c)
        .cte("stored")
    )
    cancelled = (
        update(messages)
        .where(
            _c.dialog_id == bindparam("dialog_id"),
            _c.delivery == _PENDING,
            _of_kinds(kinds),
            exists(select(stored.c.id)),
        )
        .values(delivery=Delivery.CANCELLED)
        .cte("cancelled")
    )
    nothing, one = literal_column("0", Integer()), literal_column("1", Integer())
    counted = counters.add_to_dialog(stored.c.dialog_id, nothing, nothing, one).cte("counted")
    return Hot(select(stored).add_cte(cancelled).add_cte(counted))


@functools.cache
def _add_with_dialog(names: tuple[str, ...], dialog_names: tuple[str, ...]) -> Hot:
    """PostgreSQL: write the dialog's columns `dialog_names` (bound as `d_<name>`) and, only
    if the dialog is there, insert the message (columns `names`, bound by their names)."""
    written = (
        update(dialogs)
        .where(dialogs.c.id == bindparam("written_dialog"))
        .values({n: bindparam(f"d_{n}", type_=dialogs.c[n].type) for n in dialog_names})
        .returning(dialogs.c.id)
        .cte("written")
    )
    row = select(*(bindparam(name, type_=_c[name].type) for name in names)).select_from(written)
    return Hot(
        insert(messages).from_select(list(names), row).returning(*messages.c).add_cte(written)
    )


class SqlMessageRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def _insert(self, message: Message, *, ignore_duplicates: bool) -> Message | None:
        values: dict[str, Any] = new_message_values(message)
        take_dialog_account = message.account_id is None
        if take_dialog_account:
            del values["account_id"]
            values["of_dialog"] = message.dialog_id
        dialect = self._tx.dialect
        said = counters.Said.of_message(message)
        counted_here = said != counters.NOTHING and dialect == "postgresql"
        if counted_here:
            statement = _counted_insert(tuple(values), ignore_duplicates=ignore_duplicates)
            values.update(add_sent=said.sent, add_openers=said.openers, add_received=said.received)
        else:
            statement = precompiled(
                _insert_statement(
                    dialect,
                    ignore_duplicates=ignore_duplicates,
                    take_dialog_account=take_dialog_account,
                ),
                dialect,
                values,
            )
        try:
            row = (await self._tx.execute(statement, values)).first()
        except IntegrityError as exc:
            if is_missing_reference(exc):
                raise RecordNotFound(f"no dialog {message.dialog_id}") from exc
            raise
        if row is None:
            return None
        if said != counters.NOTHING and not counted_here:
            await self._add_to_dialog(row.dialog_id, said)
        return message_from_row(row)

    async def _add_to_dialog(
        self, dialog_id: int, said: counters.Said, *, activity_at: datetime | None = None
    ) -> None:
        params = {
            "counted_dialog": dialog_id,
            "add_sent": said.sent,
            "add_openers": said.openers,
            "add_received": said.received,
        }
        if activity_at is None:
            await self._tx.execute(counters.ADD, params)
        else:
            await self._tx.execute(_ADD_AND_TOUCH, {**params, "dialog_activity_at": activity_at})

    async def add(self, message: Message, *, dialog: Dialog | None = None) -> Message:
        if dialog is not None:
            assert dialog.id == message.dialog_id, "a message is written with its own dialog"
            if (
                self._tx.dialect == "postgresql"
                and message.account_id is not None
                and counters.Said.of_message(message) == counters.NOTHING
            ):
                return await self._add_with_dialog(message, dialog)
            await SqlDialogRepository(self._tx).update(dialog)
        stored = await self._insert(message, ignore_duplicates=False)
        assert stored is not None
        return stored

    async def _add_with_dialog(self, message: Message, dialog: Dialog) -> Message:
        values = new_message_values(message)
        written = dialog_values(dialog)
        params = {**values, **{f"d_{name}": value for name, value in written.items()}}
        params["written_dialog"] = dialog.id
        try:
            result = await self._tx.execute(_add_with_dialog(tuple(values), tuple(written)), params)
        except IntegrityError as exc:
            if reopens_a_second_dialog(dialog, exc):
                raise DialogAlreadyOpen(dialog.target_username) from exc
            raise
        row = result.first()
        if row is None:
            raise RecordNotFound(f"no dialog {dialog.id}")
        return message_from_row(row)

    async def add_incoming(
        self, message: Message, *, cancel_pending: Collection[str] = ()
    ) -> Message | None:
        assert message.direction is Direction.IN, "add_incoming stores incoming messages"
        if not cancel_pending or self._tx.dialect != "postgresql" or message.account_id is None:
            stored = await self._insert(message, ignore_duplicates=True)
            if stored is not None and cancel_pending:
                await self.cancel_pending(message.dialog_id, kinds=cancel_pending)
            return stored
        values = new_message_values(message)
        kinds = frozenset(OutKind(kind) for kind in cancel_pending)
        try:
            result = await self._tx.execute(_add_incoming_cancelling(tuple(values), kinds), values)
        except IntegrityError as exc:
            if is_missing_reference(exc):
                raise RecordNotFound(f"no dialog {message.dialog_id}") from exc
            raise
        row = result.first()
        return message_from_row(row) if row else None

    async def get(self, message_id: int) -> Message | None:
        row = (await self._tx.execute(_GET, {"message_id": message_id})).first()
        return message_from_row(row) if row else None

    async def update(
        self, message: Message, *, dialog_activity_at: datetime | None = None
    ) -> None:
        values = message_values(message)
        if self._tx.dialect == "postgresql":
            params: dict[str, Any] = {f"m_{name}": value for name, value in values.items()}
            params["message_id"] = message.id
            touch = dialog_activity_at is not None
            if touch:
                params["dialog_activity_at"] = dialog_activity_at
            result = await self._tx.execute(_update_counting(tuple(values), touch=touch), params)
            written = result.rowcount if touch else result.scalar_one()
            if written == 0:
                raise RecordNotFound(f"no message {message.id}")
            return
        was = (await self._tx.execute(_WAS, {"message_id": message.id})).first()
        if was is None:
            raise RecordNotFound(f"no message {message.id}")
        await self._tx.execute(_update(tuple(values)), {**values, "message_id": message.id})
        change = counters.Said.of(was.direction, message.delivery, message.kind).minus(
            counters.Said.of(was.direction, was.delivery, was.kind)
        )
        if change != counters.NOTHING or dialog_activity_at is not None:
            await self._add_to_dialog(was.dialog_id, change, activity_at=dialog_activity_at)

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
        async for row in self._tx.stream(_FOR_DIALOG_IN_ORDER, params, batch_size):
            yield message_from_row(row)

    async def stream_all(self, *, batch_size: int = 1000) -> AsyncIterator[Message]:
        async for row in self._tx.stream(_ALL, None, batch_size):
            yield message_from_row(row)

    async def stream_export_batches(
        self,
        *,
        first_dialog_id: int | None = None,
        last_dialog_id: int | None = None,
        batch_size: int = 1000,
    ) -> AsyncIterator[list[ExportRow]]:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        postgresql = self._tx.dialect == "postgresql"
        if postgresql:
            driver = await self._tx.driver_connection()
            if export_copy.fast_path_possible(driver):
                query = export_copy.export_query(first_dialog_id, last_dialog_id)
                copied = export_copy.copy_export_batches(driver, query, batch_size)
                async with contextlib.aclosing(copied):  # closed with us: the COPY ends first
                    async for batch in copied:
                        yield batch
                return
        statement = _export_rows(postgresql, first_dialog_id, last_dialog_id)
        streamed = self._tx.stream_batches(statement, None, batch_size)
        async with contextlib.aclosing(streamed):
            if not postgresql:
                async for rows in streamed:
                    yield [ExportRow._make(row) for row in rows]
                return
            directions, deliveries, kinds = _DIRECTIONS, _DELIVERIES, _KINDS
            async for rows in streamed:
                yield [
                    ExportRow(
                        dialog_id,
                        directions[direction],
                        content,
                        timestamp,
                        sent_at,
                        deliveries[delivery],
                        kinds[kind],
                    )
                    for dialog_id, direction, content, timestamp, sent_at, delivery, kind in rows
                ]

    async def claim_next_due(
        self, account_id: int, now: datetime, *, include_openers: bool = True
    ) -> Message | None:
        params = {"claimer": account_id, "due_by": now}
        row = (await self._tx.execute(_CLAIM[include_openers], params)).first()
        return message_from_row(row) if row else None

    async def claim_next_due_with_dialog(
        self, account_id: int, now: datetime, *, include_openers: bool = True
    ) -> tuple[Message, Dialog | None] | None:
        if self._tx.dialect != "postgresql":  # SQLite has no UPDATE inside WITH
            message = await self.claim_next_due(account_id, now, include_openers=include_openers)
            if message is None:
                return None
            row = (await self._tx.execute(_GET_DIALOG, {"claimed_of": message.dialog_id})).first()
            return message, dialog_from_row(row) if row else None
        params = {"claimer": account_id, "due_by": now}
        row = (await self._tx.execute(_CLAIM_WITH_DIALOG[include_openers], params)).first()
        if row is None:
            return None
        dialog = dialog_from_row(_Prefixed(row)) if row.d_id is not None else None  # type: ignore[arg-type]
        return message_from_row(row), dialog

    async def next_pending_at(self, account_id: int | None = None) -> datetime | None:
        if account_id is None:
            return (await self._tx.execute(_NEXT_PENDING)).scalar_one()
        params = {"pending_of": account_id}
        return (await self._tx.execute(_NEXT_PENDING_OF_ACCOUNT, params)).scalar_one()

    async def list_by_delivery(
        self, delivery: Delivery, *, account_id: int | None = None, dialog_id: int | None = None
    ) -> list[Message]:
        statement = select(messages).where(_c.delivery == delivery).order_by(_c.id)
        if account_id is not None:
            statement = statement.where(_c.account_id == account_id)
        if dialog_id is not None:
            statement = statement.where(_c.dialog_id == dialog_id)
        return [message_from_row(row) for row in await self._tx.execute(statement)]

    async def cancel_pending(self, dialog_id: int, *, kinds: Collection[str] | None = None) -> int:
        wanted = None if kinds is None else frozenset(OutKind(kind) for kind in kinds)
        result = await self._tx.execute(_cancel(wanted), {"cancel_in": dialog_id})
        return result.rowcount
