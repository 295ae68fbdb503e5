"""The transcripts' reads in SQL (ExportQuery): dialogs page by page, their messages by COPY
(export_copy.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from salesbot.adapters.persistence.models import accounts, dialogs
from salesbot.adapters.persistence.queries import export_copy
from salesbot.adapters.persistence.transaction import reading
from salesbot.application.admin.queries import ExportRow, TranscriptHeader

_d = dialogs.c
_HEADER = select(
    _d.id,
    _d.target_username,
    _d.target_user_id,
    _d.account_id,
    func.coalesce(accounts.c.phone, "?").label("phone"),
    _d.status,
    _d.stage,
    _d.warmth,
    _d.notes,
    _d.summary,
    _d.created_at,
    func.coalesce(_d.last_activity_at, _d.created_at).label("last_activity_at"),
    _d.outcome,
).select_from(dialogs.outerjoin(accounts, accounts.c.id == _d.account_id))
_ONE = _HEADER.where(_d.id == bindparam("dialog_id"))
_PAGE = (
    _HEADER.where(_d.id > bindparam("after_id")).order_by(_d.id).limit(bindparam("page_size"))
)
_COUNT = select(func.count()).select_from(dialogs)
# COPY writes timestamps in the session's DateStyle: the rows are read as ISO.
_ISO_DATES = text("SET LOCAL DateStyle = ISO")


def _header(row: Any) -> TranscriptHeader:
    return TranscriptHeader(
        dialog_id=row.id,
        username=row.target_username,
        user_id=row.target_user_id,
        account_id=row.account_id,
        account_phone=row.phone,
        status=row.status,
        stage=row.stage,
        warmth=row.warmth,
        notes=row.notes,
        summary=row.summary,
        created_at=row.created_at,
        last_activity_at=row.last_activity_at,
        outcome=row.outcome,
    )


class SqlExportQuery:
    """Implements ExportQuery."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def header(self, dialog_id: int) -> TranscriptHeader | None:
        async with reading(self._engine) as tx:
            row = (await tx.execute(_ONE, {"dialog_id": dialog_id})).first()
        return _header(row) if row else None

    async def count(self) -> int:
        async with reading(self._engine) as tx:
            return int((await tx.execute(_COUNT)).scalar_one())

    async def headers(self, *, after_id: int, limit: int) -> list[TranscriptHeader]:
        if limit <= 0:
            return []
        params = {"after_id": after_id, "page_size": limit}
        async with reading(self._engine) as tx:
            return [_header(row) for row in await tx.execute(_PAGE, params)]

    async def rows(
        self, *, first_dialog_id: int, last_dialog_id: int, batch_size: int = 1000
    ) -> AsyncGenerator[list[ExportRow], None]:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        async with reading(self._engine) as tx:
            await tx.execute(_ISO_DATES)
            driver = await tx.driver_connection()
            query = export_copy.export_query(first_dialog_id, last_dialog_id)
            copied = export_copy.copy_export_batches(driver, query, batch_size)
            async with contextlib.aclosing(copied):  # closed with us: the COPY ends first
                async for batch in copied:
                    yield batch
