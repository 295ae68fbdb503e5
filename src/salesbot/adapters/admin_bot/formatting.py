"""Use-case results as the admin reads them: times in the configured zone, words from the
catalogue. Shared by the command handlers, the exports and the notices."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Any

from salesbot.adapters.admin_bot.catalogue import COMMANDS, MESSAGES, Texts
from salesbot.application.admin.paging import Page
from salesbot.application.admin.queries import (
    AccountStats,
    DialogRow,
    ExportRow,
    Spend,
    TranscriptHeader,
)
from salesbot.application.admin.views import DialogPage, PeriodStats, StatsReport
from salesbot.domain.dialog import LOST_OUTCOMES, DialogStatus
from salesbot.domain.do_not_contact import DoNotContact
from salesbot.domain.message import Delivery, Direction, Message, OutKind
from salesbot.domain.spam_bot import SpamBotAnswer, SpamVerdict

_MINUTES_KEPT = 100_000
"""Formatted minutes a Formatter remembers (~10 MB) before it starts over."""
_TWO_DIGITS = [f"{n:02d}" for n in range(60)]
# Stand-ins for the time and the text while a line's template is split around them.
_TIME, _TEXT = "\x00", "\x01"


def _export_row(message: Message | ExportRow) -> ExportRow:
    if isinstance(message, ExportRow):
        return message
    m = message
    return ExportRow(
        m.dialog_id, m.direction, m.content, m.timestamp, m.sent_at, m.delivery, m.kind
    )


class Formatter:
    def __init__(self, texts: Texts, tz: tzinfo) -> None:
        self.t = texts
        self.tz = tz
        # Exports format every message: the fixed pieces are looked up once.
        self._never = texts("never")
        self._us = texts("who_us")
        self._manual = texts("mark_manual")
        self._delivery_marks = {
            Delivery.PENDING: texts("mark_pending"),
            Delivery.SENDING: texts("mark_sending"),
            Delivery.FAILED: texts("mark_failed"),
            Delivery.DRAFT: texts("mark_draft"),
            Delivery.DISCARDED: texts("mark_discarded"),
        }
        self._line = MESSAGES["line"][texts.language]
        self._minutes: dict[float, str] = {}
        self._ours = self._pieces(self._us, "")
        self._ours_marked: dict[tuple[bool, Delivery | None], tuple[str, str, str] | None] = {}

    # --- small pieces ----------------------------------------------------------------------

    def time(self, moment: datetime | None) -> str:
        """`2026-01-05 12:00` in the configured zone."""
        if moment is None:
            return self._never
        minute = moment.timestamp() // 60
        text = self._minutes.get(minute)
        if text is None:
            text = self._minute(moment, minute)
        return text

    def _minute(self, moment: datetime, minute: float) -> str:
        """The minute, formatted (by hand: strftime is slow) and remembered: every moment of
        a UTC minute shows the same local minute while the zone's offset is whole minutes."""
        t = moment.astimezone(self.tz)
        year, two = t.year, _TWO_DIGITS
        text = (
            f"{year if year >= 1000 else f'{year:04d}'}-{two[t.month]}-{two[t.day]} "
            f"{two[t.hour]}:{two[t.minute]}"
        )
        offset = t.utcoffset()
        if offset is not None and not offset.seconds % 60 and not offset.microseconds:
            if len(self._minutes) >= _MINUTES_KEPT:
                self._minutes.clear()
            self._minutes[minute] = text
        return text

    def status(self, status: DialogStatus | str) -> str:
        return self.t.word("dialog_status", status)

    def _pieces(self, who: str, mark: str) -> tuple[str, str, str] | None:
        """The line template with `who` and `mark` filled in, split around the time and the
        text (None if it cannot be: then each line is formatted whole)."""
        if any(c in who or c in mark for c in (_TIME, _TEXT)):
            return None
        line = self._line.format(time=_TIME, who=who, mark=mark, text=_TEXT)
        head, time, rest = line.partition(_TIME)
        middle, text, tail = rest.partition(_TEXT)
        if not (time and text) or _TIME in tail or _TEXT in head + tail:
            return None
        return head, middle, tail

    def _our_pieces(
        self, kind: OutKind | None, delivery: Delivery | None
    ) -> tuple[str, str, str] | None:
        manual = kind is OutKind.MANUAL
        if not manual and (delivery is Delivery.SENT or delivery is None):
            return self._ours
        key = (manual, delivery)
        if key not in self._ours_marked:
            mark = self._manual if manual else ""
            if delivery is not None:
                mark += self._delivery_marks.get(delivery, "")
            self._ours_marked[key] = self._pieces(self._us, mark)
        return self._ours_marked[key]

    def line(self, message: Message | ExportRow, username: str) -> str:
        """One message: `[time] who (mark): text`."""
        return self.lines((_export_row(message),), username)[:-1]

    def lines(self, rows: Iterable[ExportRow], username: str) -> str:
        """`line` of each message, each ending with a newline: one tight loop for a
        transcript's thousands of lines."""
        theirs = self._pieces(f"@{username}", "")
        minutes, minute_of, time = self._minutes, self._minute, self.time
        our_pieces, ours = self._our_pieces, self._ours
        out, manual, sent = Direction.OUT, OutKind.MANUAL, Delivery.SENT
        lines: list[str] = []
        append = lines.append
        for row in rows:
            _, direction, content, timestamp, sent_at, delivery, kind = row
            if direction is out:
                moment = sent_at or timestamp
                if kind is not manual and (delivery is sent or delivery is None):
                    pieces = ours
                else:
                    pieces = our_pieces(kind, delivery)
            else:
                moment = timestamp
                pieces = theirs
            if moment is None:
                shown = time(moment)
            else:
                minute = moment.timestamp() // 60
                shown = minutes.get(minute) or minute_of(moment, minute)
            if pieces is None:
                append(self._whole_line(row, username, shown) + "\n")
            else:
                append(f"{pieces[0]}{shown}{pieces[1]}{content}{pieces[2]}\n")
        return "".join(lines)

    def _whole_line(self, row: ExportRow, username: str, shown: str) -> str:
        if row.direction is Direction.OUT:
            who = self._us
            mark = self._manual if row.kind is OutKind.MANUAL else ""
            if row.delivery is not None:
                mark += self._delivery_marks.get(row.delivery, "")
        else:
            who, mark = f"@{username}", ""
        return self._line.format(time=shown, who=who, mark=mark, text=row.content)

    # --- dialogs ---------------------------------------------------------------------------

    def dialog_page(self, page: DialogPage) -> str:
        if not page.rows:
            return self.t("list_empty")
        lines = [self.t("list_header", total=page.total, page=page.page, pages=page.pages)]
        lines += [self.row(row) for row in page.rows]
        return "\n".join(lines)

    def row(self, row: DialogRow) -> str:
        return self.t(
            "list_row",
            n=row.dialog_id,
            username=row.username,
            status=self.status(row.status),
            stage=self.t.word("stage", row.stage),
            warmth=row.warmth,
            last=self.time(row.last_activity_at),
        )

    def header(
        self, header: TranscriptHeader | DialogRow, *, reason: str = "", notes: str = ""
    ) -> str:
        """The head of a transcript: prospect, account, status, stage and warmth, dates."""
        user_id = header.user_id
        text = self.t(
            "transcript_header",
            n=header.dialog_id,
            username=header.username,
            user_id=self.t("transcript_user_id", user_id=user_id) if user_id else "",
            account=f"{header.account_phone} (#{header.account_id})",
            status=self.status(header.status)
            + (
                f" — {self.t.word('outcome', header.outcome)}"
                if header.outcome in LOST_OUTCOMES
                else ""
            ),
            reason=f" ({reason})" if reason else "",
            stage=self.t.word("stage", header.stage),
            warmth=header.warmth,
            created=self.time(header.created_at),
            last=self.time(header.last_activity_at),
        )
        if notes:
            text += "\n" + self.t("transcript_context", context=notes)
        return text

    def transcript(
        self,
        row: DialogRow,
        messages: Iterable[Message],
        *,
        summary: str = "",
        reason: str = "",
        notes: str = "",
        spend: Spend | None = None,
    ) -> str:
        parts = [self.header(row, reason=reason, notes=notes)]
        if spend is not None:
            parts[0] += "\n" + self.spend(spend)
        if summary:
            parts.append(self.t("transcript_summary", summary=summary))
        lines = self.lines(map(_export_row, messages), row.username)
        parts.append(lines[:-1] if lines else self.t("transcript_empty"))
        return "\n\n".join(parts)

    def spend(self, spend: Spend) -> str:
        """Tokens in (of them cached) and out, and dollars, as the provider reported them."""
        return self.t(
            "transcript_spend",
            prompt=spend.prompt_tokens,
            cached=spend.cached_tokens,
            completion=spend.completion_tokens,
            cost=f"{spend.cost_usd:.4f}",
        )

    # --- do not contact -------------------------------------------------------------------

    def do_not_contact_page(self, page: Page[DoNotContact]) -> str:
        if not page.rows:
            return self.t("dnc_empty")
        lines = [self.t("dnc_header", total=page.total, page=page.page, pages=page.pages)]
        lines += [self.do_not_contact_row(entry) for entry in page.rows]
        return "\n".join(lines)

    def do_not_contact_row(self, entry: DoNotContact) -> str:
        """`@name (id 5001) — why, when, dialog 12`: what is known of the entry."""
        if entry.username is None:
            who = self.t("dnc_who_id", user_id=entry.user_id)
        elif entry.user_id is None:
            who = f"@{entry.username}"
        else:
            who = f"@{entry.username} ({self.t('dnc_who_id', user_id=entry.user_id)})"
        return self.t(
            "dnc_row",
            who=who,
            reason=entry.reason or self.t("dnc_no_reason"),
            added=self.time(entry.created_at),
            dialog=self.t("dnc_row_dialog", n=entry.dialog_id) if entry.dialog_id else "",
        )

    # --- accounts --------------------------------------------------------------------------

    def accounts(self, summaries: list[Any], now: datetime) -> str:
        """`AccountService.list_accounts()` rows: id, phone, status, sent_today, daily_limit,
        next_free_at, active_dialogs, limited_until, proxy_set, flood_wait_until."""
        if not summaries:
            return self.t("accounts_empty")
        lines = [self.t("accounts_header", count=len(summaries))]
        for s in summaries:
            next_free = s.next_free_at
            limited = ""
            if s.limited_until is not None:
                limited = self.t("account_limited_until", until=self.time(s.limited_until))
            if s.flood_wait_until is not None:
                limited += self.t("account_flood_wait", until=self.time(s.flood_wait_until))
            lines.append(
                self.t(
                    "account_row",
                    id=s.id,
                    phone=s.phone,
                    status=self.t.word("account_status", s.status),
                    limited=limited,
                    sent=s.sent_today,
                    limit=s.daily_limit,
                    next=self.t("now")
                    if next_free is None or next_free <= now
                    else self.time(next_free),
                    dialogs=s.active_dialogs,
                    proxy=self.t("account_proxy") if s.proxy_set else "",
                )
            )
        return "\n".join(lines)

    def account_check(self, phone: str, answer: SpamBotAnswer) -> str:
        """@SpamBot's answer in plain words: free, limited until when, or its own text."""
        text = answer.text.strip()
        if answer.verdict is SpamVerdict.FREE:
            return self.t("check_free", phone=phone)
        if answer.verdict is SpamVerdict.LIMITED and answer.until is not None:
            return self.t("check_limited_until", phone=phone, until=self.time(answer.until))
        if answer.verdict is SpamVerdict.LIMITED:
            return self.t("check_limited", phone=phone, text=text)
        return self.t("check_unknown", phone=phone, text=text or "—")

    # --- statistics ------------------------------------------------------------------------

    def _stats_line(self, who: str, stats: AccountStats) -> str:
        rate = (
            f"{min(1.0, stats.dialogs_replied / stats.openers_sent):.0%}"
            if stats.openers_sent
            else self.t("stats_no_rate")
        )
        return self.t(
            "stats_line",
            who=who,
            openers=stats.openers_sent,
            replied=stats.dialogs_replied,
            received=stats.messages_received,
            rate=rate,
            goals=stats.goals,
            opt_outs=stats.opt_outs,
            rejected=stats.rejected,
            not_qualified=stats.not_qualified,
        )

    def _period(self, period: PeriodStats) -> str:
        lines = [self._stats_line(self.t("stats_total"), period.total)]
        lines += [f"   {self._stats_line(s.phone, s)}" for s in period.per_account]
        return "\n".join(lines)

    def stats(self, report: StatsReport) -> str:
        counts = {status.value: n for status, n in report.dialogs_by_status.items()}
        text = self.t(
            "stats",
            since=self.time(report.today_since),
            today=self._period(report.today),
            all_time=self._period(report.all_time),
            **{s.value: counts.get(s.value, 0) for s in DialogStatus},
        )
        return f"{text}\n\n{self._spend_block(report.all_time)}"

    def _spend_line(self, who: str, spend: Spend) -> str:
        return self.t(
            "stats_spend_line",
            who=who,
            prompt=spend.prompt_tokens,
            cached=spend.cached_tokens,
            completion=spend.completion_tokens,
            cost=f"{spend.cost_usd:.4f}",
        )

    def _spend_block(self, period: PeriodStats) -> str:
        """The model's spend, all time: the total, then each account."""
        lines = [self.t("stats_spend"), self._spend_line(self.t("stats_total"), period.total.spend)]
        lines += [f"   {self._spend_line(s.phone, s.spend)}" for s in period.per_account]
        return "\n".join(lines)

    # --- help ------------------------------------------------------------------------------

    def help(self, tz_name: str) -> str:
        lang = self.t.language
        blocks = [self.t("help_header")]
        for section in ("help_accounts", "help_dialogs", "help_campaigns", "help_other"):
            lines = [self.t(section)]
            for command in COMMANDS:
                if command.section == section:
                    usage = f"/{command.name} {command.args[lang]}".rstrip()
                    lines.append(f"{usage} — {command.about[lang]}")
            blocks.append("\n".join(lines))
        blocks.append(self.t("help_footer", tz=tz_name))
        return "\n\n".join(blocks)
