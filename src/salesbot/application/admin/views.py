"""What the operator looks at: the open dialogs page by page, one whole dialog, the numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from salesbot.application.errors import UnknownDialog
from salesbot.application.ports import AccountStats, Clock, UnitOfWork, UnitOfWorkFactory
from salesbot.domain.dialog import OPEN_STATUSES, Dialog, DialogStatus, Stage
from salesbot.domain.message import Delivery, Message

DEFAULT_PAGE_SIZE = 10


@dataclass(frozen=True)
class DialogRow:
    dialog_id: int
    username: str
    user_id: int | None
    status: DialogStatus
    stage: Stage
    warmth: int
    account_id: int
    account_phone: str
    created_at: datetime | None
    last_activity_at: datetime | None

    @classmethod
    def of(cls, dialog: Dialog, phones: dict[int, str]) -> DialogRow:
        return cls(
            dialog_id=dialog.id or 0,
            username=dialog.target_username,
            user_id=dialog.target_user_id,
            status=dialog.status,
            stage=dialog.stage,
            warmth=dialog.warmth,
            account_id=dialog.account_id,
            account_phone=phones.get(dialog.account_id, "?"),
            created_at=dialog.created_at,
            last_activity_at=dialog.last_activity_at or dialog.created_at,
        )


@dataclass(frozen=True)
class DialogPage:
    rows: list[DialogRow]
    page: int
    """1-based; a page past the end is answered with the last one."""
    pages: int
    total: int


@dataclass(frozen=True)
class DialogTranscript:
    dialog: DialogRow
    context: str
    summary: str
    status_reason: str
    messages: list[Message]
    """In order; cancelled outgoing messages (never sent to anyone) are left out."""


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
    )


async def _phones(uow: UnitOfWork) -> dict[int, str]:
    return {a.id: a.phone for a in await uow.accounts.list() if a.id is not None}


class AdminViews:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        tz: tzinfo,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._tz = tz
        self._page_size = page_size

    async def open_dialogs(self, page: int = 1) -> DialogPage:
        """Active and paused dialogs, newest activity first."""
        async with self._uow_factory() as uow:
            total = await uow.dialogs.count(statuses=OPEN_STATUSES)
            pages = max(1, math.ceil(total / self._page_size))
            page = min(max(1, page), pages)
            dialogs = await uow.dialogs.list(
                statuses=OPEN_STATUSES,
                limit=self._page_size,
                offset=(page - 1) * self._page_size,
            )
            phones = await _phones(uow)
        rows = [DialogRow.of(d, phones) for d in dialogs]
        return DialogPage(rows=rows, page=page, pages=pages, total=total)

    async def transcript(self, dialog_id: int) -> DialogTranscript:
        async with self._uow_factory() as uow:
            dialog = await uow.dialogs.get(dialog_id)
            if dialog is None:
                raise UnknownDialog(dialog_id)
            account = await uow.accounts.get(dialog.account_id)
            messages = await uow.messages.list_for_dialog(dialog_id)
        phones = {dialog.account_id: account.phone} if account else {}
        return DialogTranscript(
            dialog=DialogRow.of(dialog, phones),
            context=dialog.context,
            summary=dialog.summary,
            status_reason=dialog.status_reason,
            messages=[m for m in messages if m.delivery is not Delivery.CANCELLED],
        )

    async def stats(self) -> StatsReport:
        """Today (from midnight in the configured time zone) and all time, per account."""
        now = self._clock.now()
        day = now.astimezone(self._tz).date()
        since = datetime.combine(day, time.min, tzinfo=self._tz)
        until = datetime.combine(day + timedelta(days=1), time.min, tzinfo=self._tz)
        async with self._uow_factory() as uow:
            today = await uow.stats.per_account(since=since, until=until)
            all_time = await uow.stats.all_time()
        return StatsReport(
            today_since=since,
            today=PeriodStats(today, _total(today)),
            all_time=PeriodStats(all_time.per_account, _total(all_time.per_account)),
            dialogs_by_status=all_time.dialogs_by_status,
        )
