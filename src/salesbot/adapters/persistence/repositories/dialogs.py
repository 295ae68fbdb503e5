"""Dialogs: one open dialog per prospect is the database's own unique index."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Select

from salesbot.adapters.persistence.models import (
    OPEN_DIALOG_STATUSES,
    dialog_from_row,
    dialog_values,
    dialogs,
    messages,
)
from salesbot.adapters.persistence.repositories.statements import insert_ignoring_duplicates
from salesbot.adapters.persistence.transaction import (
    Transaction,
    is_missing_reference,
    is_unique_violation,
)
from salesbot.application.errors import DialogAlreadyOpen, RecordNotFound
from salesbot.domain.dialog import Dialog, DialogStatus
from salesbot.domain.message import Delivery, Direction

_c = dialogs.c
_m = messages.c
_GET = select(dialogs).where(_c.id == bindparam("dialog_id"))
_ADD = insert_ignoring_duplicates(dialogs)
_UPDATE = update(dialogs).where(_c.id == bindparam("dialog_id"))


_REASSIGN = (
    update(dialogs)
    .where(_c.id == bindparam("moved_dialog"))
    .values(account_id=bindparam("new_account"))
)
# What is already on its way stays with the account sending it.
_REASSIGN_PENDING = (
    update(messages)
    .where(_m.dialog_id == bindparam("moved_dialog"), _m.delivery == Delivery.PENDING)
    .values(account_id=bindparam("new_account"))
)
_OPEN_BY_USERNAME = select(dialogs).where(
    _c.target_username == bindparam("username"), _c.status.in_(OPEN_DIALOG_STATUSES)
)
_FOR_INCOMING = (
    select(dialogs)
    .where(_c.account_id == bindparam("account_id"), _c.target_user_id == bindparam("user_id"))
    .order_by(_c.id.desc())
    .limit(1)
)
_FOR_INCOMING_BY_NAME = (
    select(dialogs)
    .where(
        _c.account_id == bindparam("account_id"),
        _c.target_user_id.is_(None),
        _c.target_username == bindparam("username"),
    )
    .order_by(_c.id.desc())
    .limit(1)
)

# The newest message either side actually said (ours only once sent), per dialog.
_last_spoken_id = (
    select(_m.id)
    .where(
        _m.dialog_id == _c.id,
        or_(_m.direction == Direction.IN, _m.delivery == Delivery.SENT),
    )
    .order_by(_m.timestamp.desc(), _m.id.desc())
    .limit(1)
    .correlate(dialogs)  # two levels down: automatic correlation would not reach it
    .scalar_subquery()
)
_last = messages.alias("last_message")
_AWAITING_FOLLOW_UP = (
    select(dialogs)
    .where(
        _c.status == DialogStatus.ACTIVE,
        _c.follow_ups_sent < bindparam("max_follow_ups"),
        ~exists().where(
            _m.dialog_id == _c.id, _m.delivery.in_([Delivery.PENDING, Delivery.SENDING])
        ),
        exists().where(
            _last.c.id == _last_spoken_id,
            _last.c.direction == Direction.OUT,
            func.coalesce(_last.c.sent_at, _last.c.timestamp) <= bindparam("silent_since"),
        ),
    )
    .order_by(_c.id)
)

_BY_ID = (
    select(dialogs).where(_c.id > bindparam("after_id")).order_by(_c.id).limit(bindparam("page"))
)

# The newest message the prospect saw or will see: theirs, and ours unless cancelled or
# failed (the application's `speakable`), with the dialog in the same round trip.
_newest_speakable_id = (
    select(_m.id)
    .where(
        _m.dialog_id == _c.id,
        or_(
            _m.direction == Direction.IN,
            _m.delivery.is_(None),
            _m.delivery.in_([Delivery.SENT, Delivery.SENDING, Delivery.PENDING]),
        ),
    )
    .order_by(_m.timestamp.desc(), _m.id.desc())
    .limit(1)
    .correlate(dialogs)
    .scalar_subquery()
)
_GET_WITH_NEWEST = select(dialogs, _newest_speakable_id.label("newest_speakable_id")).where(
    _c.id == bindparam("dialog_id")
)


def reopens_a_second_dialog(dialog: Dialog, exc: IntegrityError) -> bool:
    """Whether writing `dialog` broke the constraint because the prospect has another open
    dialog (DialogAlreadyOpen)."""
    return dialog.is_open and is_unique_violation(exc)


def _filtered(
    statement: Select[Any], statuses: Collection[DialogStatus] | None, account_id: int | None
) -> Select[Any]:
    if statuses is not None:
        statement = statement.where(_c.status.in_(list(statuses)))
    if account_id is not None:
        statement = statement.where(_c.account_id == account_id)
    return statement


class SqlDialogRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add(self, dialog: Dialog) -> Dialog:
        values = {**dialog_values(dialog), "account_id": dialog.account_id}
        if dialog.created_at is not None:
            values["created_at"] = dialog.created_at
        if dialog.last_activity_at is None:
            # A new dialog's activity starts with it (the server's clock when not given).
            values.pop("last_activity_at")
            if dialog.created_at is not None:
                values["last_activity_at"] = dialog.created_at
        try:
            row = (await self._tx.execute(_ADD, values)).first()
        except IntegrityError as exc:
            if is_missing_reference(exc):
                raise RecordNotFound(f"no account {dialog.account_id}") from exc
            raise
        if row is None:
            raise DialogAlreadyOpen(dialog.target_username)
        return dialog_from_row(row)

    async def get(self, dialog_id: int) -> Dialog | None:
        row = (await self._tx.execute(_GET, {"dialog_id": dialog_id})).first()
        return dialog_from_row(row) if row else None

    async def get_with_newest_message(self, dialog_id: int) -> tuple[Dialog, int | None] | None:
        row = (await self._tx.execute(_GET_WITH_NEWEST, {"dialog_id": dialog_id})).first()
        if row is None:
            return None
        return dialog_from_row(row), row.newest_speakable_id

    async def update(self, dialog: Dialog) -> None:
        try:
            params = {**dialog_values(dialog), "dialog_id": dialog.id}
            result = await self._tx.execute(_UPDATE, params)
        except IntegrityError as exc:
            if reopens_a_second_dialog(dialog, exc):
                raise DialogAlreadyOpen(dialog.target_username) from exc
            raise
        if result.rowcount == 0:
            raise RecordNotFound(f"no dialog {dialog.id}")

    async def find_open_by_username(self, username: str) -> Dialog | None:
        row = (await self._tx.execute(_OPEN_BY_USERNAME, {"username": username})).first()
        return dialog_from_row(row) if row else None

    async def find_for_incoming(
        self, account_id: int, user_id: int, *, username: str | None = None
    ) -> Dialog | None:
        params = {"account_id": account_id, "user_id": user_id}
        row = (await self._tx.execute(_FOR_INCOMING, params)).first()
        if row is None and username is not None:
            params = {"account_id": account_id, "username": username}
            row = (await self._tx.execute(_FOR_INCOMING_BY_NAME, params)).first()
        return dialog_from_row(row) if row else None

    async def list(
        self,
        *,
        statuses: Collection[DialogStatus] | None = None,
        account_id: int | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Dialog]:
        newest_first = (_c.last_activity_at.desc(), _c.id.desc())
        statement = _filtered(select(dialogs), statuses, account_id).order_by(*newest_first)
        if offset:
            # A deep page skips `offset` entries of the (last_activity_at, id) index alone
            # and reads only the page's rows: skipping whole rows read each one of them.
            page = _filtered(select(_c.id), statuses, account_id).order_by(*newest_first)
            page = page.offset(offset)
            if limit is not None:
                page = page.limit(limit)
            statement = select(dialogs).where(_c.id.in_(page.scalar_subquery()))
            statement = statement.order_by(*newest_first)
        elif limit is not None:
            statement = statement.limit(limit)
        return [dialog_from_row(row) for row in await self._tx.execute(statement)]

    async def count(
        self, *, statuses: Collection[DialogStatus] | None = None, account_id: int | None = None
    ) -> int:
        statement = _filtered(select(func.count()).select_from(dialogs), statuses, account_id)
        return (await self._tx.execute(statement)).scalar_one()

    async def list_by_id(self, *, after_id: int = 0, limit: int) -> list[Dialog]:
        if limit <= 0:
            return []
        rows = await self._tx.execute(_BY_ID, {"after_id": after_id, "page": limit})
        return [dialog_from_row(row) for row in rows]

    async def reassign(self, dialog_id: int, account_id: int) -> None:
        params = {"moved_dialog": dialog_id, "new_account": account_id}
        try:
            moved = await self._tx.execute(_REASSIGN, params)
        except IntegrityError as exc:
            if is_missing_reference(exc):
                raise RecordNotFound(f"no account {account_id}") from exc
            raise
        if moved.rowcount == 0:
            raise RecordNotFound(f"no dialog {dialog_id}")
        await self._tx.execute(_REASSIGN_PENDING, params)

    async def list_awaiting_follow_up(
        self, *, silent_since: datetime, max_follow_ups: int
    ) -> list[Dialog]:
        params = {"silent_since": silent_since, "max_follow_ups": max_follow_ups}
        return [dialog_from_row(row) for row in await self._tx.execute(_AWAITING_FOLLOW_UP, params)]
