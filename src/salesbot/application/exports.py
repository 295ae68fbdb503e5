"""Dialogs written out for the operator: one dialog, or every dialog, message by message.

The use-case walks the database and hands each dialog's header and messages to a
`TranscriptSink`; the admin bot's sink renders them in the admin's language into a `.txt`
file or a zip archive on disk. Messages come from the repository's streams in batches, so
exporting every dialog keeps memory bounded however large the database grows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from salesbot.application.errors import UnknownDialog
from salesbot.application.ports import ExportRow, UnitOfWork, UnitOfWorkFactory
from salesbot.domain.dialog import Dialog, DialogStatus, Stage
from salesbot.domain.message import Delivery, Message

log = logging.getLogger(__name__)

DIALOG_PAGE = 500


@dataclass(frozen=True)
class TranscriptHeader:
    dialog_id: int
    username: str
    user_id: int | None
    account_id: int
    account_phone: str
    status: DialogStatus
    stage: Stage
    warmth: int
    context: str
    summary: str
    created_at: datetime | None
    last_activity_at: datetime | None

    @classmethod
    def of(cls, dialog: Dialog, account_phone: str) -> TranscriptHeader:
        return cls(
            dialog_id=dialog.id or 0,
            username=dialog.target_username,
            user_id=dialog.target_user_id,
            account_id=dialog.account_id,
            account_phone=account_phone,
            status=dialog.status,
            stage=dialog.stage,
            warmth=dialog.warmth,
            context=dialog.context,
            summary=dialog.summary,
            created_at=dialog.created_at,
            last_activity_at=dialog.last_activity_at or dialog.created_at,
        )


class TranscriptSink(Protocol):
    """Receives dialogs one after another: `begin`, its messages in order, `end`."""

    def begin(self, header: TranscriptHeader) -> None: ...

    def message(self, message: Message | ExportRow) -> None: ...

    def end(self) -> None: ...


def _exported(message: Message) -> bool:
    """Cancelled outgoing messages never reached anyone: they are not part of the dialog."""
    return message.delivery is not Delivery.CANCELLED


class _Phones:
    """Account phones, looked up once per account."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._known: dict[int, str] = {}

    async def of(self, account_id: int) -> str:
        if account_id not in self._known:
            account = await self._uow.accounts.get(account_id)
            self._known[account_id] = account.phone if account else "?"
        return self._known[account_id]


class Exports:
    def __init__(self, uow_factory: UnitOfWorkFactory, *, batch_size: int = 1000) -> None:
        self._uow_factory = uow_factory
        self._batch_size = batch_size

    async def export_dialog(self, dialog_id: int, sink: TranscriptSink) -> TranscriptHeader:
        """Write one dialog to `sink`; UnknownDialog when there is none with that number."""
        async with self._uow_factory() as uow:
            dialog = await uow.dialogs.get(dialog_id)
            if dialog is None:
                raise UnknownDialog(dialog_id)
            header = TranscriptHeader.of(dialog, await _Phones(uow).of(dialog.account_id))
            sink.begin(header)
            async for message in uow.messages.stream_for_dialog(
                dialog_id, batch_size=self._batch_size
            ):
                if _exported(message):
                    sink.message(message)
            sink.end()
        return header

    async def export_all(self, sink: TranscriptSink) -> int:
        """Write every dialog to `sink` in dialog-id order, its messages in order; return
        how many.

        Two walks up the dialog ids in step: the dialogs, a page of DIALOG_PAGE per query,
        and one stream of every message as light `ExportRow`s (no Message built per row).
        """
        exported = 0
        async with self._uow_factory() as uow:
            phones = _Phones(uow)
            rows = uow.messages.stream_export_rows(batch_size=self._batch_size)
            row = await anext(rows, None)
            after = 0
            while True:
                page = await uow.dialogs.list_by_id(after_id=after, limit=DIALOG_PAGE)
                for dialog in page:
                    dialog_id = dialog.id or 0
                    while row is not None and row.dialog_id < dialog_id:  # no dialog heads it
                        row = await anext(rows, None)
                    sink.begin(TranscriptHeader.of(dialog, await phones.of(dialog.account_id)))
                    while row is not None and row.dialog_id == dialog_id:
                        if row.delivery is not Delivery.CANCELLED:
                            sink.message(row)
                        row = await anext(rows, None)
                    sink.end()
                    exported += 1
                if len(page) < DIALOG_PAGE:
                    break
                after = page[-1].id or 0
            await rows.aclose()
        log.info("exported %s dialogs", exported)
        return exported
