"""/campaign_new: a short conversation that turns a lead list into a campaign.

The name (or `/campaign_new <name>`), then the file (a .csv or .txt document), then the
optional script (a text or a .txt document, or /skip), then the optional opener variants (one
message each, /done to finish, /skip for none), then a summary with what the import would
take and not, and /confirm. /cancel at any step stores nothing. The report comes with the
rows not taken as a CSV document (the line in the file, the username as written, why).
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any, Protocol

from telegram import Document, InputFile, Update
from telegram.ext import BaseHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from salesbot.adapters.admin_bot.catalogue import Texts
from salesbot.adapters.admin_bot.handlers.common import (
    BadInput,
    Context,
    answers_bad_input,
    command_tail,
    reply,
)
from salesbot.adapters.logging import secret_mask
from salesbot.application.campaigns.import_leads import (
    MAX_VARIANTS,
    ImportReport,
    InvalidCampaign,
    NotTaken,
    Rejection,
    check_draft,
    rejected_csv,
)
from salesbot.application.campaigns.lead_file import MAX_FILE_BYTES, UnreadableLeadFile
from salesbot.application.conversation.sales_script import MAX_SCRIPT_CHARS
from salesbot.application.conversation.start_dialog import MAX_NOTES_CHARS
from salesbot.domain.text import storable

NAME, FILE, SCRIPT, VARIANTS, CONFIRM = range(5)
_KEY = "campaign_new"
# UTF-8 takes at most 4 bytes a character: a larger file cannot be a script that fits.
SCRIPT_MAX_BYTES = 4 * MAX_SCRIPT_CHARS


class LeadImporter(Protocol):
    """`ImportLeads` of application/campaigns/import_leads.py."""

    async def preview(self, filename: str, content: bytes) -> ImportReport: ...

    async def run(
        self,
        filename: str,
        content: bytes,
        *,
        name: str,
        script: str = "",
        variants: Any = (),
    ) -> ImportReport: ...


class CampaignImportCommands:
    def __init__(self, texts: Texts, importer: LeadImporter) -> None:
        self.t = texts
        self._importer = importer

    def conversation(self, admin: filters.BaseFilter) -> BaseHandler[Update, Context, Any]:
        message = admin & filters.UpdateType.MESSAGE
        text = message & filters.TEXT & ~filters.COMMAND
        document = message & filters.Document.ALL
        return ConversationHandler(
            entry_points=[CommandHandler("campaign_new", self.begin, filters=message)],
            states={
                NAME: [MessageHandler(text, self.name)],
                FILE: [
                    MessageHandler(document, self.file),
                    MessageHandler(text, self.not_a_file),
                ],
                SCRIPT: [
                    MessageHandler(text, self.script_text),
                    MessageHandler(document, self.script_document),
                    CommandHandler("skip", self.no_script, filters=message),
                ],
                VARIANTS: [
                    MessageHandler(text, self.variant),
                    CommandHandler(("done", "skip"), self.summary, filters=message),
                ],
                CONFIRM: [
                    CommandHandler("confirm", self.confirm, filters=message),
                    MessageHandler(text, self.confirm_first),
                ],
            },
            fallbacks=[CommandHandler("cancel", self.cancel, filters=admin)],
            allow_reentry=True,
            name="campaign_new",
        )

    @staticmethod
    def _draft(context: Context) -> dict[str, Any]:
        assert context.user_data is not None
        draft: dict[str, Any] = context.user_data.setdefault(_KEY, {})
        return draft

    def _campaign_error(self, error: InvalidCampaign) -> str:
        return self.t(f"campaign_{error.problem}", **error.values)

    def _file_error(self, error: UnreadableLeadFile) -> str:
        values = dict(error.values)
        if "kind" in values:
            values["kind"] = self.t.word("file_kind", values["kind"])
        return self.t(f"lead_file_{error.problem}", **values)

    # --- the steps -----------------------------------------------------------------------

    @answers_bad_input
    async def begin(self, update: Update, context: Context) -> int:
        """/campaign_new [name]."""
        assert update.message is not None and context.user_data is not None
        context.user_data[_KEY] = {}
        name = command_tail(update.message)
        if not name:
            await reply(update, context, self.t("campaign_new_ask_name"))
            return NAME
        return await self._take_name(update, context, name)

    @answers_bad_input
    async def name(self, update: Update, context: Context) -> int:
        assert update.message is not None
        return await self._take_name(update, context, storable(update.message.text or ""))

    async def _take_name(self, update: Update, context: Context, name: str) -> int:
        try:
            draft = check_draft(name)
        except InvalidCampaign as error:
            raise BadInput(self._campaign_error(error)) from error
        self._draft(context)["name"] = draft.name
        await reply(
            update,
            context,
            self.t(
                "campaign_new_ask_file", name=draft.name, limit_mb=MAX_FILE_BYTES // 1024 // 1024
            ),
        )
        return FILE

    async def not_a_file(self, update: Update, context: Context) -> None:
        await reply(update, context, self.t("campaign_new_need_file"))

    @answers_bad_input
    async def file(self, update: Update, context: Context) -> int:
        assert update.message is not None and update.message.document is not None
        document = update.message.document
        filename = PurePath(document.file_name or "leads.csv").name
        if document.file_size and document.file_size > MAX_FILE_BYTES:
            problem = self.t(
                "lead_file_too_large",
                size_mb=round(document.file_size / 1024 / 1024, 1),
                limit_mb=MAX_FILE_BYTES // 1024 // 1024,
            )
            raise BadInput(self.t("lead_file_retry", problem=problem))
        content = bytes(await (await document.get_file()).download_as_bytearray())
        try:
            preview = await self._importer.preview(filename, content)
        except UnreadableLeadFile as error:
            raise BadInput(self.t("lead_file_retry", problem=self._file_error(error))) from error
        draft = self._draft(context)
        draft.update(filename=filename, content=content, variants=[])
        await reply(
            update, context, self.t("campaign_new_file_read", filename=filename, rows=preview.rows)
        )
        return SCRIPT

    @answers_bad_input
    async def script_text(self, update: Update, context: Context) -> int:
        assert update.message is not None
        return await self._take_script(update, context, update.message.text or "")

    @answers_bad_input
    async def script_document(self, update: Update, context: Context) -> int:
        assert update.message is not None and update.message.document is not None
        return await self._take_script(
            update, context, await self._read_script(update.message.document)
        )

    async def _read_script(self, document: Document) -> str:
        name = document.file_name or "?"
        if not (name.lower().endswith(".txt") or document.mime_type == "text/plain"):
            raise BadInput(self.t("campaign_script_not_txt", name=name))
        if document.file_size and document.file_size > SCRIPT_MAX_BYTES:
            raise BadInput(
                self.t(
                    "prompt_too_big",
                    name=name,
                    size=document.file_size // 1024,
                    limit=SCRIPT_MAX_BYTES // 1024,
                )
            )
        data = bytes(await (await document.get_file()).download_as_bytearray())
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise BadInput(self.t("prompt_not_utf8", name=name)) from error

    async def _take_script(self, update: Update, context: Context, script: str) -> int:
        draft = self._draft(context)
        try:
            checked = check_draft(draft["name"], storable(script))
        except InvalidCampaign as error:
            raise BadInput(self._campaign_error(error)) from error
        draft["script"] = checked.script
        await reply(update, context, self.t("campaign_new_ask_variants"))
        return VARIANTS

    async def no_script(self, update: Update, context: Context) -> int:
        self._draft(context)["script"] = ""
        await reply(update, context, self.t("campaign_new_ask_variants"))
        return VARIANTS

    @answers_bad_input
    async def variant(self, update: Update, context: Context) -> int | None:
        assert update.message is not None
        draft = self._draft(context)
        variants: list[str] = draft.setdefault("variants", [])
        if len(variants) >= MAX_VARIANTS:
            raise BadInput(self.t("campaign_too_many_variants", limit=MAX_VARIANTS))
        given = [*variants, storable(update.message.text or "")]
        try:
            checked = check_draft(draft["name"], draft.get("script", ""), given)
        except InvalidCampaign as error:
            raise BadInput(self._campaign_error(error)) from error
        draft["variants"] = list(checked.variants)
        await reply(update, context, self.t("campaign_new_variant_taken", number=len(given)))
        return None

    async def summary(self, update: Update, context: Context) -> int:
        """/done or /skip after the variants (/skip: none, even if some were sent)."""
        assert update.message is not None
        draft = self._draft(context)
        if (update.message.text or "").startswith("/skip"):
            draft["variants"] = []
        try:
            preview = await self._importer.preview(draft["filename"], draft["content"])
        except UnreadableLeadFile as error:  # read once already: only if the rules changed
            await reply(update, context, self._file_error(error))
            return self._end(context)
        script = draft.get("script", "")
        values = {
            "name": draft["name"],
            "filename": draft["filename"],
            "rows": preview.rows,
            "reasons": self._reasons(preview),
        }
        if not preview.taken:
            await reply(update, context, self.t("campaign_new_nothing_to_take", **values))
            await self._send_rejected(update, context, preview.rejections, draft["filename"])
            return self._end(context)
        await reply(
            update,
            context,
            self.t(
                "campaign_new_summary",
                **values,
                taken=preview.taken,
                not_taken=preview.not_taken,
                script=self.t("campaign_new_script_own", chars=len(script))
                if script
                else self.t("campaign_new_script_global"),
                variants=len(draft["variants"]) or self.t("campaign_new_no_variants"),
            ),
        )
        return CONFIRM

    async def confirm_first(self, update: Update, context: Context) -> None:
        await reply(update, context, self.t("campaign_new_confirm_first"))

    async def confirm(self, update: Update, context: Context) -> int:
        draft = self._draft(context)
        try:
            report = await self._importer.run(
                draft["filename"],
                draft["content"],
                name=draft["name"],
                script=draft.get("script", ""),
                variants=draft.get("variants", []),
            )
        except InvalidCampaign as error:
            await reply(update, context, self._campaign_error(error))
            return self._end(context)
        except UnreadableLeadFile as error:
            await reply(update, context, self._file_error(error))
            return self._end(context)
        reasons = self._reasons(report)
        if report.campaign is None:
            text = self.t("campaign_not_created", rows=report.rows, reasons=reasons)
        else:
            text = self.t(
                "campaign_created",
                id=report.campaign.id,
                name=report.campaign.name,
                taken=report.taken,
                rows=report.rows,
                not_taken=report.not_taken,
                reasons=reasons,
            )
        await reply(update, context, text)
        await self._send_rejected(update, context, report.rejections, draft["filename"])
        return self._end(context)

    async def cancel(self, update: Update, context: Context) -> int:
        await reply(update, context, self.t("campaign_new_cancelled"))
        return self._end(context)

    @staticmethod
    def _end(context: Context) -> int:
        if context.user_data is not None:
            context.user_data.pop(_KEY, None)
        return ConversationHandler.END

    # --- the report ----------------------------------------------------------------------

    def _reasons(self, report: ImportReport) -> str:
        return "".join(
            self.t(
                "campaign_reason_count",
                reason=self.t(f"campaign_count_{reason.value}"),
                count=report.counts[reason],
            )
            for reason in NotTaken
            if reason in report.counts
        )

    def describe(self, rejection: Rejection) -> str:
        """Why a row was not taken, in the admin's language."""
        key = f"campaign_reason_{rejection.reason.value}"
        if rejection.reason is NotTaken.INVALID_USERNAME:
            return self.t(key, why=self.t.reason(rejection.why))
        if rejection.reason is NotTaken.DUPLICATE:
            return self.t(key, line=rejection.earlier_line)
        if rejection.reason is NotTaken.HAS_DIALOG:
            return self.t(key, dialog_id=rejection.dialog_id)
        if rejection.reason is NotTaken.FIELDS_TOO_LONG:
            return self.t(key, length=rejection.length, limit=MAX_NOTES_CHARS)
        return self.t(key)

    async def _send_rejected(
        self, update: Update, context: Context, rejections: list[Rejection], filename: str
    ) -> None:
        if not rejections:
            return
        chat = update.effective_chat
        assert chat is not None
        header = self.t("campaign_rejected_header").split(",")
        content = rejected_csv(rejections, self.describe, header)
        await context.bot.send_document(
            chat.id,
            InputFile(content, filename=f"{PurePath(filename).stem}.rejected.csv"),
            caption=secret_mask(self.t("campaign_rejected_caption", count=len(rejections))),
        )
