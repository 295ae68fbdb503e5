"""Dialogs written out for the operator: one dialog, or every dialog, message by message.

The use-case walks the dialogs (ExportQuery, in SQL) and hands each dialog's header and
messages to a `TranscriptSink`; the admin bot's sink renders them in the admin's language
into a `.txt` file or a zip archive on disk. Messages come in batches, so exporting every
dialog keeps memory bounded however large the database grows. Exporting every dialog tells
an `ExportProgress` how far it is after each batch (the admin bot edits one status message;
how often it does is its own affair).
"""

from __future__ import annotations

import bisect
import contextlib
import logging
from collections.abc import Sequence
from typing import Protocol

from salesbot.application.admin.queries import ExportQuery, ExportRow, TranscriptHeader
from salesbot.application.errors import UnknownDialog
from salesbot.domain.message import Delivery

log = logging.getLogger(__name__)

DIALOG_PAGE = 2000
"""Dialogs read per query; their messages then come in one stream (a COPY on PostgreSQL,
which costs a query start each: fewer, longer streams keep the server busy)."""


class TranscriptSink(Protocol):
    """Receives dialogs one after another: `begin`, its messages in order, `end`."""

    def begin(self, header: TranscriptHeader) -> None: ...

    def messages(self, messages: Sequence[ExportRow]) -> None:
        """The dialog's next messages, in order (never an empty batch)."""
        ...

    def end(self) -> None: ...


class ExportProgress(Protocol):
    async def dialogs_done(self, done: int, total: int) -> None:
        """`done` of the `total` dialogs are written (called often: throttle there)."""
        ...


_NEVER_SAID = (Delivery.CANCELLED, Delivery.DISCARDED)


def _exported(rows: list[ExportRow]) -> list[ExportRow]:
    """Cancelled outgoing messages and discarded drafts never reached anyone: they are not
    part of the dialog."""
    return [row for row in rows if row.delivery not in _NEVER_SAID]


def _dialog_of(row: ExportRow) -> int:
    return row.dialog_id


class _Transcripts:
    """Feeds a page of dialogs (in id order) and their messages (in stream order) to the
    sink: every dialog begins and ends once, with or without messages."""

    def __init__(self, sink: TranscriptSink, headers: list[TranscriptHeader]) -> None:
        self._sink = sink
        self._headers = headers
        self._next = 0  # headers[:_next] have begun
        self._open: int | None = None  # the dialog id begun and not ended yet

    @property
    def done(self) -> int:
        """Dialogs of the page written to their end."""
        return self._next - (1 if self._open is not None else 0)

    def _advance(self, dialog_id: int) -> None:
        """End the open dialog and begin every one up to `dialog_id`."""
        headers = self._headers
        while self._next < len(headers) and headers[self._next].dialog_id <= dialog_id:
            if self._open is not None:
                self._sink.end()
            self._open = headers[self._next].dialog_id
            self._sink.begin(headers[self._next])
            self._next += 1

    def rows(self, batch: list[ExportRow]) -> None:
        start = 0
        while start < len(batch):
            dialog_id = batch[start].dialog_id
            stop = bisect.bisect_right(batch, dialog_id, lo=start, key=_dialog_of)
            self._advance(dialog_id)
            if self._open == dialog_id:  # else no dialog of this page heads these rows
                shown = _exported(batch[start:stop] if start or stop < len(batch) else batch)
                if shown:
                    self._sink.messages(shown)
            start = stop

    def finish(self) -> None:
        self._advance(self._headers[-1].dialog_id if self._headers else 0)
        if self._open is not None:
            self._sink.end()
            self._open = None


class Exports:
    def __init__(
        self,
        query: ExportQuery,
        *,
        batch_size: int = 1000,
        dialog_page: int = DIALOG_PAGE,
    ) -> None:
        self._query = query
        self._batch_size = batch_size
        self._dialog_page = dialog_page

    async def export_dialog(self, dialog_id: int, sink: TranscriptSink) -> TranscriptHeader:
        """Write one dialog to `sink`; UnknownDialog when there is none with that number."""
        header = await self._query.header(dialog_id)
        if header is None:
            raise UnknownDialog(dialog_id)
        await self._write([header], sink)
        return header

    async def count(self) -> int:
        """How many dialogs `export_all` would write (more may begin meanwhile)."""
        return await self._query.count()

    async def export_all(
        self, sink: TranscriptSink, progress: ExportProgress | None = None, *, total: int = 0
    ) -> int:
        """Write every dialog to `sink` in dialog-number order, its messages in order;
        return how many. A page of `dialog_page` dialogs at a time, then one stream of that
        page's messages, in batches; `progress` hears after each batch how many of `total`
        (`count()` when 0) are done."""
        if progress is not None and total <= 0:
            total = await self._query.count()
        exported = 0
        after = 0
        while True:
            page = await self._query.headers(after_id=after, limit=self._dialog_page)
            if not page:
                break
            await self._write(page, sink, progress, exported, total)
            exported += len(page)
            if len(page) < self._dialog_page:
                break
            after = page[-1].dialog_id
        log.info("exported %s dialogs", exported)
        return exported

    async def _write(
        self,
        headers: list[TranscriptHeader],
        sink: TranscriptSink,
        progress: ExportProgress | None = None,
        before: int = 0,
        total: int = 0,
    ) -> None:
        transcripts = _Transcripts(sink, headers)

        async def tell() -> None:
            if progress is not None:
                done = before + transcripts.done
                await progress.dialogs_done(done, max(total, done))

        batches = self._query.rows(
            first_dialog_id=headers[0].dialog_id,
            last_dialog_id=headers[-1].dialog_id,
            batch_size=self._batch_size,
        )
        # A sink that fails leaves the stream open: it is closed here, ending the read.
        async with contextlib.aclosing(batches):
            async for batch in batches:
                transcripts.rows(batch)
                await tell()
        transcripts.finish()
        await tell()
