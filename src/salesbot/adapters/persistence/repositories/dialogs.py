"""Dialogs: one open dialog per prospect is the database's own unique index."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import String, bindparam, func, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from salesbot.adapters.persistence.models import (
    OPEN_DIALOG_STATUSES,
    dialog_from_row,
    dialog_values,
    dialogs,
    messages,
)
from salesbot.adapters.persistence.repositories.statements import insert_ignoring_duplicates
from salesbot.adapters.persistence.said import newest_speakable
from salesbot.adapters.persistence.transaction import (
    Transaction,
    is_missing_reference,
    is_unique_violation,
)
from salesbot.application.errors import DialogAlreadyOpen, RecordNotFound
from salesbot.domain.dialog import Dialog
from salesbot.domain.message import Delivery

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
# The newest dialog of each name in a lead list, in one round trip: the names go as one array
# parameter, joined as a table (a hash join however long the list).
_listed = func.unnest(bindparam("usernames", type_=postgresql.ARRAY(String))).table_valued("name")
_NUMBERS_BY_USERNAME = (
    select(_c.target_username, func.max(_c.id).label("newest"))
    .join(_listed, _c.target_username == _listed.c.name)
    .group_by(_c.target_username)
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

# The dialog and, in the same round trip, its newest message the prospect saw or will see.
_GET_WITH_NEWEST = select(
    dialogs, newest_speakable(messages.c.id).label("newest_speakable_id")
).where(_c.id == bindparam("dialog_id"))


def reopens_a_second_dialog(dialog: Dialog, exc: IntegrityError) -> bool:
    """Whether writing `dialog` broke the constraint because the prospect has another open
    dialog (DialogAlreadyOpen)."""
    return dialog.is_open and is_unique_violation(exc)


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

    async def numbers_by_username(self, usernames: Collection[str]) -> dict[str, int]:
        if not usernames:
            return {}
        rows = await self._tx.execute(_NUMBERS_BY_USERNAME, {"usernames": list(set(usernames))})
        return {row.target_username: row.newest for row in rows}

    async def find_for_incoming(
        self, account_id: int, user_id: int, *, username: str | None = None
    ) -> Dialog | None:
        params: dict[str, object] = {"account_id": account_id, "user_id": user_id}
        row = (await self._tx.execute(_FOR_INCOMING, params)).first()
        if row is None and username is not None:
            params = {"account_id": account_id, "username": username}
            row = (await self._tx.execute(_FOR_INCOMING_BY_NAME, params)).first()
        return dialog_from_row(row) if row else None

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
