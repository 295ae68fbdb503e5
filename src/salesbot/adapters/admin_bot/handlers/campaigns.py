"""/campaigns, /campaign N, /campaign_pause N, /campaign_resume N, /campaign_stop N,
/campaign_export N: the operator's control of the campaigns. A stop asks first (Stop /
Cancel buttons): it cannot be undone."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update

from salesbot.adapters.admin_bot.campaign_csv import LeadsCsv, delimiter_for
from salesbot.adapters.admin_bot.catalogue import MESSAGES, Texts
from salesbot.adapters.admin_bot.formatting import Formatter
from salesbot.adapters.admin_bot.handlers.common import (
    BadInput,
    Context,
    answers_bad_input,
    command_tail,
    reply,
    split_first,
)
from salesbot.adapters.admin_bot.handlers.paging import page_buttons
from salesbot.adapters.logging import secret_mask
from salesbot.application.admin.paging import Page
from salesbot.application.campaigns.control import CampaignControl, CampaignState
from salesbot.application.campaigns.queries import CampaignFunnel, CampaignSummary, DialogCounts
from salesbot.application.campaigns.reports import CampaignReports
from salesbot.application.errors import UnknownCampaign
from salesbot.domain.campaign import CampaignStatus
from salesbot.domain.errors import IllegalTransition

PAGES = "campaigns"
"""The kind of /campaigns' page buttons (handlers/paging.py)."""
STOP_BUTTON = re.compile(r"^campaign_(stop|keep):(\d{1,18})$")
_NUMBER = re.compile(r"^#?(\d{1,18})$")
VARIANT_CHARS = 40
"""A variant's text is shortened to this in the funnel."""
UPLOAD_TIMEOUT = 600.0


def shortened(text: str, limit: int = VARIANT_CHARS) -> str:
    """On one line, at most `limit` characters, cut at a word's end when one is near."""
    one_line = " ".join(text.split())
    if len(one_line) <= limit:
        return one_line
    cut = one_line[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:—-") + "…"


def _rate(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.0%}"


class CampaignCommands:
    def __init__(
        self,
        texts: Texts,
        formatter: Formatter,
        reports: CampaignReports,
        control: CampaignControl,
    ) -> None:
        self.t = texts
        self.f = formatter
        self._reports = reports
        self._control = control

    # --- reading ---------------------------------------------------------------------------

    async def show(self, update: Update, context: Context) -> None:
        """/campaigns: every campaign with its progress, newest first, a page at a time."""
        text, page = await self.page(1)
        await reply(update, context, text, reply_markup=page_buttons(PAGES, page, self.t))

    async def page(self, n: int) -> tuple[str, Page[CampaignSummary]]:
        """Page N of /campaigns (the page buttons show it)."""
        page = await self._reports.page(n)
        if not page.total:
            return self.t("campaigns_empty"), page
        lines = [self.t("campaigns_header", total=page.total, page=page.page, pages=page.pages)]
        lines += [self._summary(row) for row in page.rows]
        lines.append(self.t("campaigns_footer"))
        return "\n".join(lines), page

    def _summary(self, row: CampaignSummary) -> str:
        leads = row.leads
        return self.t(
            "campaigns_row",
            n=row.campaign_id,
            name=row.name,
            status=self.t.word("campaign_status", row.status),
            queued=leads.queued + leads.starting,
            started=leads.started,
            skipped=leads.skipped,
            total=leads.total,
            replied=row.replied,
            goal=row.goal,
        )

    @answers_bad_input
    async def funnel(self, update: Update, context: Context) -> None:
        """/campaign N: the funnel, overall and per opener variant."""
        n = self._number(update, "campaign")
        try:
            funnel = await self._reports.funnel(n)
        except UnknownCampaign as error:
            raise BadInput(self.t("unknown_campaign", n=n)) from error
        await reply(update, context, self._funnel(funnel))

    def _funnel(self, funnel: CampaignFunnel) -> str:
        script = "campaign_own_script" if funnel.own_script else "campaign_global_script"
        leads = funnel.leads
        blocks = [
            "\n".join(
                [
                    self.t(
                        "campaign_title",
                        n=funnel.campaign_id,
                        name=funnel.name,
                        status=self.t.word("campaign_status", funnel.status),
                        script=self.t(script),
                    ),
                    self.t(
                        "campaign_leads",
                        total=leads.total,
                        queued=leads.queued,
                        starting=leads.starting,
                        started=leads.started,
                        skipped=leads.skipped,
                    ),
                    self.t("campaign_overall", funnel=self._counts(funnel.dialogs)),
                ]
            )
        ]
        if funnel.variants:
            lines = [self.t("campaign_variants")]
            lines += [
                self.t(
                    "campaign_variant",
                    i=v.index + 1,
                    text=shortened(v.text),
                    funnel=self._counts(v.counts),
                )
                for v in funnel.variants
            ]
            blocks.append("\n".join(lines))
        if funnel.skipped:
            lines = [self.t("campaign_skipped")]
            lines += [
                self.t(
                    "campaign_skip_reason",
                    reason=self._skip_reason(reason),
                    count=count,
                )
                for reason, count in funnel.skipped.items()
            ]
            blocks.append("\n".join(lines))
        blocks.append(self.t("campaign_hints", n=funnel.campaign_id))
        return "\n\n".join(blocks)

    def _skip_reason(self, reason: str) -> str:
        if not reason:
            return self.t("campaign_no_reason")
        if f"skip_{reason}" in MESSAGES:
            return self.t(f"skip_{reason}")
        return self.t.reason(reason)

    def _counts(self, counts: DialogCounts) -> str:
        return self.t(
            "campaign_funnel",
            started=counts.started,
            replied=counts.replied,
            reply_rate=_rate(counts.reply_rate),
            goal=counts.goal,
            goal_rate=_rate(counts.goal_rate),
            handoff=counts.handoff,
            rejected=counts.rejected,
            opted_out=counts.opted_out,
            failed=counts.failed,
        )

    # --- control ---------------------------------------------------------------------------

    @answers_bad_input
    async def pause(self, update: Update, context: Context) -> None:
        """/campaign_pause N: no new dialog until it is resumed."""
        n = self._number(update, "campaign_pause")
        state = await self._moved(n, "campaign_pause")
        await reply(update, context, self.t("campaign_paused", n=n, name=state.name))

    @answers_bad_input
    async def resume(self, update: Update, context: Context) -> None:
        """/campaign_resume N: the queued leads are started again."""
        n = self._number(update, "campaign_resume")
        state = await self._moved(n, "campaign_resume")
        await reply(update, context, self.t("campaign_resumed", n=n, name=state.name))

    @answers_bad_input
    async def stop(self, update: Update, context: Context) -> None:
        """/campaign_stop N: asks before stopping it for good."""
        n = self._number(update, "campaign_stop")
        try:
            funnel = await self._reports.funnel(n)
        except UnknownCampaign as error:
            raise BadInput(self.t("unknown_campaign", n=n)) from error
        if funnel.status is CampaignStatus.STOPPED:
            raise BadInput(self._refusal_text(n, funnel.name, funnel.status, "campaign_stop"))
        buttons = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        self.t("campaign_stop_yes"), callback_data=f"campaign_stop:{n}"
                    ),
                    InlineKeyboardButton(
                        self.t("campaign_stop_no"), callback_data=f"campaign_keep:{n}"
                    ),
                ]
            ]
        )
        question = self.t(
            "campaign_stop_ask",
            n=n,
            name=funnel.name,
            queued=funnel.leads.queued + funnel.leads.starting,
            started=funnel.leads.started,
        )
        await reply(update, context, question, reply_markup=buttons)

    async def stop_button(self, update: Update, context: Context) -> None:
        """Stop / Cancel under /campaign_stop's question: the question becomes the answer."""
        query = update.callback_query
        assert query is not None
        await query.answer()
        match = STOP_BUTTON.match(query.data or "")
        if match is None:
            return
        n = int(match.group(2))
        try:
            if match.group(1) == "keep":
                state = await self._control.get(n)
                text = self.t("campaign_kept", n=n, name=state.name)
            else:
                state = await self._moved(n, "campaign_stop")
                text = self.t("campaign_stopped", n=n, name=state.name)
        except BadInput as refused:  # gone, or stopped meanwhile (the button pressed twice)
            text = refused.text
        await query.edit_message_text(secret_mask(text))

    async def _moved(self, n: int, command: str) -> CampaignState:
        move = {
            "campaign_pause": self._control.pause,
            "campaign_resume": self._control.resume,
            "campaign_stop": self._control.stop,
        }[command]
        try:
            return await move(n)
        except UnknownCampaign as error:
            raise BadInput(self.t("unknown_campaign", n=n)) from error
        except IllegalTransition as error:
            state = await self._control.get(n)
            raise BadInput(self._refusal_text(n, state.name, state.status, command)) from error

    def _refusal_text(self, n: int, name: str, status: CampaignStatus, command: str) -> str:
        if status is CampaignStatus.STOPPED:
            if command == "campaign_stop":
                return self.t("campaign_stopped", n=n, name=name)
            action = self.t.word("action", command)
            return self.t("campaign_is_stopped", n=n, name=name, action=action)
        if status is CampaignStatus.PAUSED:
            return self.t("campaign_already_paused", n=n, name=name)
        return self.t("campaign_already_active", n=n, name=name)

    # --- export ----------------------------------------------------------------------------

    @answers_bad_input
    async def export(self, update: Update, context: Context) -> None:
        """/campaign_export N: every lead of it as a CSV document, for a CRM."""
        n = self._number(update, "campaign_export")
        try:
            export = await self._reports.export(n)
        except UnknownCampaign as error:
            raise BadInput(self.t("unknown_campaign", n=n)) from error
        campaign = export.campaign
        sheet = LeadsCsv(
            campaign.variant_texts, self.f.tz, delimiter=delimiter_for(self.t.language)
        )
        chat = update.effective_chat
        assert chat is not None
        with tempfile.TemporaryDirectory(prefix="salesbot-campaign-") as directory:
            path = Path(directory) / "leads.csv"
            with path.open("wb") as stream:
                sheet.write(export.leads, stream)
            caption = self.t(
                "campaign_export_caption", n=n, name=campaign.name, leads=len(export.leads)
            )
            with path.open("rb") as stream:
                await context.bot.send_document(
                    chat.id,
                    InputFile(
                        stream, filename=f"campaign_{n:03d}_leads.csv", read_file_handle=False
                    ),
                    caption=secret_mask(caption),
                    write_timeout=UPLOAD_TIMEOUT,
                    read_timeout=UPLOAD_TIMEOUT,
                )

    # --- input -----------------------------------------------------------------------------

    def _number(self, update: Update, command: str) -> int:
        """The campaign number N after the command, nothing else."""
        assert update.message is not None
        usage = self.t.command_usage(command)
        example = f"/{command} 3"
        first, rest = split_first(command_tail(update.message))
        if not first:
            raise BadInput(self.t("campaign_n_missing", usage=usage, example=example))
        match = _NUMBER.match(first)
        if not match:
            raise BadInput(self.t("campaign_n_not_number", raw=first, usage=usage, example=example))
        if rest:
            raise BadInput(self.t("campaign_n_extra", extra=rest, usage=usage, example=example))
        return int(match.group(1))
