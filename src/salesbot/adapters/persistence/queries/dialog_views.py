"""The admin's /list and /view in SQL (DialogViews)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from salesbot.adapters.persistence.models import (
    OPEN_DIALOG_STATUSES,
    accounts,
    dialogs,
    message_from_row,
    messages,
)
from salesbot.adapters.persistence.transaction import reading
from salesbot.application.admin.queries import DialogRow, DialogTranscript, Spend
from salesbot.domain.dialog import DialogStatus
from salesbot.domain.message import Delivery

_d, _m = dialogs.c, messages.c
_NEWEST_ACTIVITY_FIRST = (_d.last_activity_at.desc(), _d.id.desc())
_ROW = select(
    _d.id,
    _d.target_username,
    _d.target_user_id,
    _d.status,
    _d.stage,
    _d.warmth,
    _d.account_id,
    func.coalesce(accounts.c.phone, "?").label("phone"),
    _d.created_at,
    func.coalesce(_d.last_activity_at, _d.created_at).label("last_activity_at"),
    _d.outcome,
).select_from(dialogs.outerjoin(accounts, accounts.c.id == _d.account_id))
_OPEN = _d.status.in_(OPEN_DIALOG_STATUSES)
_COUNT_OPEN = select(func.count()).select_from(dialogs).where(_OPEN)
# A deep page skips `offset` entries of the open dialogs' (last_activity_at, id) index alone
# and reads only the page's rows: skipping whole rows would read each one of them.
_PAGE_IDS = (
    select(_d.id)
    .where(_OPEN)
    .order_by(*_NEWEST_ACTIVITY_FIRST)
    .offset(bindparam("skip"))
    .limit(bindparam("page_size"))
    .scalar_subquery()
)
_OPEN_PAGE = _ROW.where(_d.id.in_(_PAGE_IDS)).order_by(*_NEWEST_ACTIVITY_FIRST)
_ONE = _ROW.add_columns(
    _d.notes,
    _d.summary,
    _d.status_reason,
    _d.prompt_tokens,
    _d.completion_tokens,
    _d.cached_tokens,
    _d.cost_usd,
).where(
    _d.id == bindparam("dialog_id")
)
_SAID = (
    select(messages)
    .where(_m.dialog_id == bindparam("dialog_id"), _m.delivery.is_distinct_from(Delivery.CANCELLED))
    .order_by(_m.timestamp, _m.id)
)
_ACTIVE_PER_ACCOUNT = (
    select(_d.account_id, func.count())
    .where(_d.status == DialogStatus.ACTIVE)
    .group_by(_d.account_id)
)


def _row(row: Any) -> DialogRow:
    return DialogRow(
        dialog_id=row.id,
        username=row.target_username,
        user_id=row.target_user_id,
        status=row.status,
        stage=row.stage,
        warmth=row.warmth,
        account_id=row.account_id,
        account_phone=row.phone,
        created_at=row.created_at,
        last_activity_at=row.last_activity_at,
        outcome=row.outcome,
    )


class SqlDialogViews:
    """Implements DialogViews."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def count_open(self) -> int:
        async with reading(self._engine) as tx:
            return int((await tx.execute(_COUNT_OPEN)).scalar_one())

    async def open_dialogs(self, *, limit: int, offset: int) -> list[DialogRow]:
        if limit <= 0:
            return []
        params = {"skip": max(0, offset), "page_size": limit}
        async with reading(self._engine) as tx:
            return [_row(row) for row in await tx.execute(_OPEN_PAGE, params)]

    async def transcript(self, dialog_id: int) -> DialogTranscript | None:
        params = {"dialog_id": dialog_id}
        async with reading(self._engine) as tx:
            found = (await tx.execute(_ONE, params)).first()
            if found is None:
                return None
            said = [message_from_row(row) for row in await tx.execute(_SAID, params)]
        return DialogTranscript(
            dialog=_row(found),
            notes=found.notes,
            summary=found.summary,
            status_reason=found.status_reason,
            messages=said,
            spend=Spend(
                found.prompt_tokens, found.completion_tokens, found.cached_tokens, found.cost_usd
            ),
        )

    async def active_per_account(self) -> dict[int, int]:
        async with reading(self._engine) as tx:
            rows = await tx.execute(_ACTIVE_PER_ACCOUNT)
            return {account: int(n) for account, n in map(tuple, rows)}
