"""/export N and /export_all: transcripts as documents."""

from __future__ import annotations

import tempfile
from pathlib import Path

from telegram import InputFile, Update

from salesbot.adapters.admin_bot.catalogue import Texts
from salesbot.adapters.admin_bot.export_files import (
    UPLOAD_LIMIT,
    TextFileSink,
    TranscriptRenderer,
    ZipPartsSink,
    transcript_filename,
)
from salesbot.adapters.admin_bot.formatting import Formatter
from salesbot.adapters.admin_bot.handlers.common import (
    BadInput,
    Context,
    answers_bad_input,
    command_tail,
    dialog_number,
    reply,
)
from salesbot.adapters.admin_bot.progress import ProgressMessage, ProgressPace
from salesbot.adapters.logging import secret_mask
from salesbot.application.admin.export_dialogs import Exports
from salesbot.application.errors import UnknownDialog
from salesbot.application.ports import Clock

# Uploads of up to 50 MB need more than the library's default write timeout.
UPLOAD_TIMEOUT = 600.0


class ExportCommands:
    def __init__(
        self,
        texts: Texts,
        formatter: Formatter,
        exports: Exports,
        clock: Clock,
        *,
        part_limit: int = UPLOAD_LIMIT,
        pace: ProgressPace | None = None,
    ) -> None:
        self.t = texts
        self.f = formatter
        self._exports = exports
        self._clock = clock
        self._part_limit = part_limit
        self._pace = pace

    async def _send(
        self, update: Update, context: Context, path: Path, filename: str, caption: str
    ) -> None:
        chat = update.effective_chat
        assert chat is not None
        with path.open("rb") as stream:
            await context.bot.send_document(
                chat.id,
                InputFile(stream, filename=filename, read_file_handle=False),
                caption=secret_mask(caption),
                write_timeout=UPLOAD_TIMEOUT,
                read_timeout=UPLOAD_TIMEOUT,
            )

    @answers_bad_input
    async def export(self, update: Update, context: Context) -> None:
        """/export N: the dialog as a UTF-8 .txt document."""
        assert update.message is not None
        n, _ = dialog_number(command_tail(update.message), self.t, "export")
        renderer = TranscriptRenderer(self.f, self._clock.now())
        with tempfile.TemporaryDirectory(prefix="salesbot-export-") as directory:
            path = Path(directory) / "dialog.txt"
            with path.open("wb") as stream:
                try:
                    header = await self._exports.export_dialog(n, TextFileSink(stream, renderer))
                except UnknownDialog as error:
                    raise BadInput(self.t("unknown_dialog", n=n)) from error
            caption = self.t("export_caption", n=n, username=header.username)
            await self._send(update, context, path, transcript_filename(header), caption)

    async def export_all(self, update: Update, context: Context) -> None:
        """/export_all: every dialog in a .zip, in several parts when it is large."""
        total = await self._exports.count()
        if not total:
            await reply(update, context, self.t("export_all_empty"))
            return
        chat = update.effective_chat
        assert chat is not None
        status = ProgressMessage(context.bot, chat.id, self._clock, self._pace)
        await status.start(self.t("export_progress", done=0, total=total))
        progress = _DialogsDone(status, self.t)
        try:
            dialogs, parts = await self._export_and_send(update, context, progress, total)
        except Exception:  # the error handler logs it and answers; the status says so too
            done = progress.done
            await status.finish(
                self.t(
                    "export_progress_failed",
                    done=done,
                    total=max(total, done),
                    sent=progress.sent,
                )
            )
            raise
        await status.finish(self.t("export_progress_done", dialogs=dialogs, parts=parts))

    async def _export_and_send(
        self, update: Update, context: Context, progress: _DialogsDone, total: int
    ) -> tuple[int, int]:
        """The archive's parts written, then sent one by one; (dialogs, parts)."""
        now = self._clock.now()
        renderer = TranscriptRenderer(self.f, now)
        stamp = now.astimezone(self.f.tz).strftime("%Y%m%d_%H%M")
        with tempfile.TemporaryDirectory(prefix="salesbot-export-") as directory:
            sink = ZipPartsSink(Path(directory), renderer, part_limit=self._part_limit)
            try:
                await self._exports.export_all(sink, progress, total=total)
            finally:
                parts = sink.close()
            for number, path in enumerate(parts, start=1):
                suffix = f"_part{number}" if len(parts) > 1 else ""
                caption = self.t(
                    "export_all_caption", dialogs=sink.dialogs, part=number, parts=len(parts)
                )
                await self._send(
                    update, context, path, f"salesbot_dialogs_{stamp}{suffix}.zip", caption
                )
                progress.sent = number
                await progress.status.note(
                    self.t(
                        "export_progress_sending",
                        dialogs=sink.dialogs,
                        sent=number,
                        parts=len(parts),
                    )
                )
            return sink.dialogs, len(parts)


class _DialogsDone:
    """ExportProgress on the status message, in the admin's language."""

    def __init__(self, status: ProgressMessage, texts: Texts) -> None:
        self.status = status
        self._t = texts
        self.done = 0
        self.sent = 0

    async def dialogs_done(self, done: int, total: int) -> None:
        self.done = done
        await self.status.progress(self._t("export_progress", done=done, total=total), done)
