"""Rows the contract tests start from, stored through the port under test."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from salesbot.adapters.persistence.models import (
    dialog_from_row,
    dialogs,
    message_from_row,
    messages,
)
from salesbot.application.ports import UnitOfWork, UnitOfWorkFactory
from salesbot.domain.account import Account
from salesbot.domain.dialog import Dialog
from salesbot.domain.message import Message, OutKind
from salesbot.domain.quota import SlotRequest
from tests.secrets import SESSION_STRING

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def at(minutes: float) -> datetime:
    """T0 plus `minutes`."""
    return T0 + timedelta(minutes=minutes)


async def add_account(uow: UnitOfWork, phone: str = "+79001234567", **fields: object) -> Account:
    return await uow.accounts.add(Account(phone=phone, session_string=SESSION_STRING, **fields))


async def add_dialog(
    uow: UnitOfWork, account_id: int, username: str = "alice_smith", **fields: object
) -> Dialog:
    dialog = Dialog(account_id=account_id, target_username=username, created_at=T0, **fields)
    return await uow.dialogs.add(dialog)


async def account_and_dialog(
    new_uow: UnitOfWorkFactory, username: str = "alice_smith"
) -> tuple[Account, Dialog]:
    async with new_uow() as uow:
        account = await add_account(uow)
        dialog = await add_dialog(uow, account.id, username)
        await uow.commit()
    return account, dialog


def outgoing(
    dialog: Dialog, content: str, *, kind: OutKind = OutKind.REPLY, send_after: datetime = T0
) -> Message:
    return Message.outgoing(dialog.id, dialog.account_id, content, send_after, kind, send_after)


def incoming(
    dialog: Dialog, content: str, telegram_message_id: int, when: datetime = T0
) -> Message:
    return Message.incoming(dialog.id, dialog.account_id, content, when, telegram_message_id)


async def claim(
    uow: UnitOfWork, account_id: int, now: datetime, *, include_cold: bool = True
) -> Message | None:
    """The claimed message alone (the claim brings its dialog too)."""
    claimed = await uow.messages.claim_next(
        account_id, now, include_cold=include_cold
    )
    return None if claimed is None else claimed[0]


async def every_message(engine: AsyncEngine) -> list[Message]:
    """Every stored message, ordered by dialog then (timestamp, id): read in plain SQL."""
    m = messages.c
    statement = select(messages).order_by(m.dialog_id, m.timestamp, m.id)
    async with engine.connect() as connection:
        return [message_from_row(row) for row in await connection.execute(statement)]


async def every_dialog(engine: AsyncEngine) -> list[Dialog]:
    """Every stored dialog, by number: read in plain SQL."""
    async with engine.connect() as connection:
        rows = await connection.execute(select(dialogs).order_by(dialogs.c.id))
        return [dialog_from_row(row) for row in rows]


def slot(*, now: datetime, today: date, daily_limit: int, min_delay: timedelta) -> SlotRequest:
    """The SlotRequest SendQuota would make for these figures."""
    return SlotRequest(day=today, limit=daily_limit, last_send_by=now - min_delay, at=now)
