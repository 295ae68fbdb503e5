"""What the operator looks at: the open dialogs page by page, one whole dialog, the numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from salesbot.application.admin.paging import DEFAULT_PAGE_SIZE, Page, clamp_page
from salesbot.application.admin.queries import (
    AccountDays,
    AccountStats,
    DayCounts,
    DialogRow,
    DialogTranscript,
    DialogViews,
    Spend,
    StatsQuery,
)
from salesbot.application.errors import UnknownDialog
from salesbot.application.ports import Clock
from salesbot.domain.dialog import DialogStatus

CHART_DAYS = 14

DialogPage = Page[DialogRow]


@dataclass(frozen=True)
class PeriodStats:
    per_account: list[AccountStats]
    total: AccountStats

    @property
    def reply_rate(self) -> float | None:
        """Share of openers whose prospect wrote back; None before any opener went out."""
        if not self.total.openers_sent:
            return None
        return min(1.0, self.total.dialogs_replied / self.total.openers_sent)


@dataclass(frozen=True)
class StatsReport:
    today_since: datetime
    today: PeriodStats
    all_time: PeriodStats
    dialogs_by_status: dict[DialogStatus, int]


@dataclass(frozen=True)
class DailyStats:
    """The last days (today the last), in the configured time zone: in total and per
    account, one DayCounts per day each."""

    days: list[date]
    total: list[DayCounts]
    per_account: list[AccountDays]

    @property
    def is_empty(self) -> bool:
        """Nothing sent, received or reached on any of the days."""
        return all(day == DayCounts() for day in self.total)


def _total(rows: list[AccountStats]) -> AccountStats:
    return AccountStats(
        account_id=0,
        phone="",
        openers_sent=sum(r.openers_sent for r in rows),
        messages_sent=sum(r.messages_sent for r in rows),
        messages_received=sum(r.messages_received for r in rows),
        dialogs_replied=sum(r.dialogs_replied for r in rows),
        goals=sum(r.goals for r in rows),
        opt_outs=sum(r.opt_outs for r in rows),
        rejected=sum(r.rejected for r in rows),
        not_qualified=sum(r.not_qualified for r in rows),
        spend=Spend(
            prompt_tokens=sum(r.spend.prompt_tokens for r in rows),
            completion_tokens=sum(r.spend.completion_tokens for r in rows),
            cached_tokens=sum(r.spend.cached_tokens for r in rows),
            cost_usd=sum(r.spend.cost_usd for r in rows),
        ),
    )


class AdminViews:
    def __init__(
        self,
        dialogs: DialogViews,
        stats: StatsQuery,
        clock: Clock,
        tz: tzinfo,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        self._dialogs = dialogs
        self._stats = stats
        self._clock = clock
        self._tz = tz
        self._page_size = page_size

    async def open_dialogs(self, page: int = 1) -> DialogPage:
        """Active and paused dialogs, newest activity first."""
        total = await self._dialogs.count_open()
        page, pages = clamp_page(page, total, self._page_size)
        rows = await self._dialogs.open_dialogs(
            limit=self._page_size, offset=(page - 1) * self._page_size
        )
        return DialogPage(rows=rows, page=page, pages=pages, total=total)

    async def transcript(self, dialog_id: int) -> DialogTranscript:
        found = await self._dialogs.transcript(dialog_id)
        if found is None:
            raise UnknownDialog(dialog_id)
        return found

    async def stats(self) -> StatsReport:
        """Today (from midnight in the configured time zone) and all time, per account."""
        now = self._clock.now()
        day = now.astimezone(self._tz).date()
        since = datetime.combine(day, time.min, tzinfo=self._tz)
        until = datetime.combine(day + timedelta(days=1), time.min, tzinfo=self._tz)
        today = await self._stats.per_account(since=since, until=until)
        all_time = await self._stats.all_time()
        return StatsReport(
            today_since=since,
            today=PeriodStats(today, _total(today)),
            all_time=PeriodStats(all_time.per_account, _total(all_time.per_account)),
            dialogs_by_status=all_time.dialogs_by_status,
        )

    async def daily(self, days: int = CHART_DAYS) -> DailyStats:
        """The last `days` days up to today's end, from midnight to midnight in the
        configured time zone (a day of a clock change is 23 or 25 hours long)."""
        today = self._clock.now().astimezone(self._tz).date()
        dates = [today - timedelta(days=days - 1 - i) for i in range(days)]
        bounds = [
            datetime.combine(d, time.min, tzinfo=self._tz)
            for d in [*dates, today + timedelta(days=1)]
        ]
        per_account = await self._stats.per_day(bounds)
        total = [DayCounts()] * days
        for account in per_account:
            total = [a + b for a, b in zip(total, account.days, strict=True)]
        return DailyStats(dates, total, per_account)
