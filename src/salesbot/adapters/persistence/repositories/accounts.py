"""Accounts, with session strings encrypted on the way in and decrypted on the way out."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, case, func, or_, select, update
from sqlalchemy.engine import Row

from salesbot.adapters.persistence.models import (
    account_from_row,
    account_values,
    accounts,
    new_account_values,
)
from salesbot.adapters.persistence.repositories.statements import insert_ignoring_duplicates
from salesbot.adapters.persistence.transaction import Transaction
from salesbot.application.errors import DuplicateAccount, RecordNotFound
from salesbot.application.ports import SessionCipher
from salesbot.domain.account import Account, AccountStatus
from salesbot.domain.quota import SlotRequest

_c = accounts.c
_GET = select(accounts).where(_c.id == bindparam("account_id"))
_ADD = insert_ignoring_duplicates(accounts)
_GET_BY_PHONE = select(accounts).where(_c.phone == bindparam("account_phone"))
_UPDATE = update(accounts).where(_c.id == bindparam("account_id"))
_LIST = select(accounts).order_by(_c.id)
_LIST_IN = _LIST.where(_c.status.in_(bindparam("statuses", expanding=True)))

_COUNTS_TODAY = case((_c.quota_day == bindparam("today"), _c.daily_messages), else_=0)
# SendQuota's SlotRequest enforced in one statement: PostgreSQL re-checks the WHERE clause
# on the locked row when a concurrent reserver committed first, so the limit holds under
# races. The status and the FloodWait are Account.can_send's, enforced here atomically. A
# request without a limit (a message that passes the cap) keeps the rest.
_RESERVE_PAST_CAP = (
    update(accounts)
    .where(
        _c.id == bindparam("account_id"),
        _c.status == AccountStatus.ACTIVE,
        or_(_c.flood_wait_until.is_(None), _c.flood_wait_until <= bindparam("now")),
        or_(_c.last_used.is_(None), _c.last_used <= bindparam("last_send_by")),
    )
    .values(
        daily_messages=_COUNTS_TODAY + 1,
        quota_day=bindparam("today"),
        last_used=bindparam("now"),
    )
    .returning(_c.id)
)
_RESERVE = _RESERVE_PAST_CAP.where(bindparam("daily_limit") > _COUNTS_TODAY)
# The send's own moment, never moving the last send back (a reconciled send found in the
# chat may be older than a later claim).
_MARK_SENT = (
    update(accounts)
    .where(_c.id == bindparam("account_id"))
    .values(last_used=func.greatest(func.coalesce(_c.last_used, bindparam("at")), bindparam("at")))
)
# Only a count still for that day, never below zero; last_used stays (see the port).
_RELEASE = (
    update(accounts)
    .where(
        _c.id == bindparam("account_id"),
        _c.quota_day == bindparam("today"),
        _c.daily_messages > 0,
    )
    .values(daily_messages=_c.daily_messages - 1)
    .returning(_c.id)
)


class SqlAccountRepository:
    def __init__(self, tx: Transaction, cipher: SessionCipher) -> None:
        self._tx = tx
        self._cipher = cipher

    def _account(self, row: Row[Any]) -> Account:
        proxy = self._cipher.decrypt(row.proxy) if row.proxy else None
        return account_from_row(row, self._cipher.decrypt(row.session_string), proxy)

    def _encrypted(self, account: Account) -> tuple[str, str | None]:
        """A proxy URL may carry the proxy's password: it is kept as a secret, like the
        session string."""
        proxy = self._cipher.encrypt(account.proxy) if account.proxy else None
        return self._cipher.encrypt(account.session_string), proxy

    async def add(self, account: Account) -> Account:
        values = new_account_values(account, *self._encrypted(account))
        row = (await self._tx.execute(_ADD, values)).first()
        if row is None:
            raise DuplicateAccount(account.phone)
        return account_from_row(row, account.session_string, account.proxy)

    async def get(self, account_id: int) -> Account | None:
        row = (await self._tx.execute(_GET, {"account_id": account_id})).first()
        return self._account(row) if row else None

    async def get_by_phone(self, phone: str) -> Account | None:
        row = (await self._tx.execute(_GET_BY_PHONE, {"account_phone": phone})).first()
        return self._account(row) if row else None

    async def every(self, statuses: Collection[AccountStatus] | None = None) -> list[Account]:
        if statuses is None:
            rows = await self._tx.execute(_LIST)
        else:
            rows = await self._tx.execute(_LIST_IN, {"statuses": list(statuses)})
        return [self._account(row) for row in rows]

    async def update(self, account: Account) -> None:
        values = account_values(account, *self._encrypted(account))
        result = await self._tx.execute(_UPDATE, {**values, "account_id": account.id})
        if result.rowcount == 0:
            raise RecordNotFound(f"no account {account.id}")

    async def reserve_send_slot(self, account_id: int, request: SlotRequest) -> bool:
        params = {
            "account_id": account_id,
            "today": request.day,
            "last_send_by": request.last_send_by,
            "now": request.at,
        }
        if request.limit is None:
            result = await self._tx.execute(_RESERVE_PAST_CAP, params)
        else:
            result = await self._tx.execute(_RESERVE, {**params, "daily_limit": request.limit})
        return result.first() is not None

    async def mark_sent(self, account_id: int, at: datetime) -> None:
        await self._tx.execute(_MARK_SENT, {"account_id": account_id, "at": at})

    async def release_send_slot(self, account_id: int, *, today: date) -> bool:
        params = {"account_id": account_id, "today": today}
        return (await self._tx.execute(_RELEASE, params)).first() is not None
