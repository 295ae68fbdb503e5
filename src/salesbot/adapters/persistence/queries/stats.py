"""Per-account counts for the admin's /stats, in one query.

All time, the dialogs' counters are summed (kept by the database's triggers on `messages`,
revision 0006) per account and status, so /stats never reads every message ever
stored and reads the dialogs once for both its figures and its dialogs per status. For a period
the period's messages are read once (sent and received counted side by side), found through
indexes: received messages by `timestamp`, sent ones by `sent_at`
(`ix_messages_timestamp`, `ix_messages_sent_sent_at`): the precise condition (a sent
message counts at `sent_at`, or at `timestamp` when that is missing) then applies to the
few rows found instead of to every message ever stored. A dialog that replied is counted
from a first grouping per (account, dialog), so no DISTINCT forces a sort of every row.

The query runs without JIT: it compiles for 50-120 ms on every call, longer
than the period's query takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select, text, true
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Select

from salesbot.adapters.persistence.models import accounts, dialogs, messages
from salesbot.adapters.persistence.queries.stats_days import per_day_statement
from salesbot.adapters.persistence.transaction import reading
from salesbot.application.admin.queries import (
    AccountDays,
    AccountStats,
    AllTimeStats,
    DayCounts,
    Spend,
)
from salesbot.domain.dialog import DialogStatus, Outcome
from salesbot.domain.message import Delivery, Direction, OutKind

_m = messages.c
_d = dialogs.c


def _within(
    moment: ColumnElement[Any], since: datetime | None, until: datetime | None
) -> ColumnElement[bool]:
    bounds = [] if since is None else [moment >= since]
    if until is not None:
        bounds.append(moment < until)
    return and_(true(), *bounds)


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def _statement(since: datetime | None, until: datetime | None) -> Select[Any]:
    """A period (at least one bound): the messages of the period, found through indexes."""
    sent = and_(
        _m.direction == Direction.OUT,
        _m.delivery == Delivery.SENT,
        _within(func.coalesce(_m.sent_at, _m.timestamp), since, until),
    )
    received = and_(_m.direction == Direction.IN, _within(_m.timestamp, since, until))
    per_dialog = select(
        _m.account_id,
        _count_if(sent).label("sent"),
        _count_if(and_(sent, _m.kind == OutKind.OPENER)).label("openers"),
        _count_if(received).label("received"),
    ).group_by(_m.account_id, _m.dialog_id)
    # Indexable: a sent message whose sent_at is missing counts at its timestamp.
    per_dialog = per_dialog.where(
        or_(
            _within(_m.timestamp, since, until),
            and_(_m.delivery == Delivery.SENT, _within(_m.sent_at, since, until)),
        )
    )
    d = per_dialog.subquery("per_dialog").c
    counted_messages = (
        select(
            d.account_id,
            func.sum(d.sent).label("messages_sent"),
            func.sum(d.openers).label("openers_sent"),
            func.sum(d.received).label("messages_received"),
            _count_if(d.received > 0).label("dialogs_replied"),
        )
        .group_by(d.account_id)
        .subquery("counted_messages")
    )
    outcomes = (
        select(
            _d.account_id,
            _count_if(_d.outcome == Outcome.GOAL).label("goals"),
            _count_if(_d.status == DialogStatus.OPTED_OUT).label("opt_outs"),
            _count_if(_d.outcome == Outcome.REJECTED).label("rejected"),
            _count_if(_d.outcome == Outcome.NOT_QUALIFIED).label("not_qualified"),
        )
        .where(_within(_d.last_activity_at, since, until))
        .group_by(_d.account_id)
        .subquery("outcomes")
    )
    a = accounts.c
    c = counted_messages.c
    return (
        select(
            a.id,
            a.phone,
            func.coalesce(c.openers_sent, 0),
            func.coalesce(c.messages_sent, 0),
            func.coalesce(c.messages_received, 0),
            func.coalesce(c.dialogs_replied, 0),
            func.coalesce(outcomes.c.goals, 0),
            func.coalesce(outcomes.c.opt_outs, 0),
            func.coalesce(outcomes.c.rejected, 0),
            func.coalesce(outcomes.c.not_qualified, 0),
        )
        .outerjoin(counted_messages, c.account_id == a.id)
        .outerjoin(outcomes, outcomes.c.account_id == a.id)
        .order_by(a.id)
    )


def _all_time() -> Select[Any]:
    """All time: the dialogs' counters (revision 0006) and outcomes summed per account and
    status, in one pass over the dialogs (no message is read); an account without dialogs
    comes with a row of NULLs."""
    per_status = (
        select(
            _d.account_id,
            _d.status,
            func.count().label("dialogs"),
            func.sum(_d.openers_sent).label("openers_sent"),
            func.sum(_d.messages_sent).label("messages_sent"),
            func.sum(_d.messages_received).label("messages_received"),
            _count_if(_d.messages_received > 0).label("dialogs_replied"),
            _count_if(_d.outcome == Outcome.GOAL).label("goals"),
            _count_if(_d.outcome == Outcome.REJECTED).label("rejected"),
            _count_if(_d.outcome == Outcome.NOT_QUALIFIED).label("not_qualified"),
            func.sum(_d.prompt_tokens).label("prompt_tokens"),
            func.sum(_d.completion_tokens).label("completion_tokens"),
            func.sum(_d.cached_tokens).label("cached_tokens"),
            func.sum(_d.cost_usd).label("cost_usd"),
        )
        .group_by(_d.account_id, _d.status)
        .subquery("per_status")
    )
    a, c = accounts.c, per_status.c
    return (
        select(
            a.id,
            a.phone,
            c.status,
            c.dialogs,
            c.openers_sent,
            c.messages_sent,
            c.messages_received,
            c.dialogs_replied,
            c.goals,
            c.rejected,
            c.not_qualified,
            c.prompt_tokens,
            c.completion_tokens,
            c.cached_tokens,
            c.cost_usd,
        )
        .outerjoin(per_status, c.account_id == a.id)
        .order_by(a.id)
    )


_ALL_TIME = _all_time()


def _period_row(account_id: int, phone: str, *counts: Any) -> AccountStats:
    """A row of the period's query (no spend: dialogs keep their usage as totals)."""
    openers, sent, received, replied, goals, opt_outs, rejected, not_qualified = (
        int(count) for count in counts
    )
    return AccountStats(
        account_id=account_id,
        phone=phone,
        openers_sent=openers,
        messages_sent=sent,
        messages_received=received,
        dialogs_replied=replied,
        goals=goals,
        opt_outs=opt_outs,
        rejected=rejected,
        not_qualified=not_qualified,
    )
_NO_JIT = text("SET LOCAL jit = off")
_ACCOUNTS = select(accounts.c.id, accounts.c.phone).order_by(accounts.c.id)


class SqlStatsQuery:
    """Implements StatsQuery."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def per_account(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[AccountStats]:
        if since is None and until is None:
            return (await self.all_time()).per_account
        async with reading(self._engine) as tx:
            await tx.execute(_NO_JIT)
            rows = (await tx.execute(_statement(since, until))).all()
        return [_period_row(*row) for row in map(tuple, rows)]

    async def all_time(self) -> AllTimeStats:
        async with reading(self._engine) as tx:
            await tx.execute(_NO_JIT)
            rows = (await tx.execute(_ALL_TIME)).all()
        per_account: dict[int, AccountStats] = {}
        by_status = dict.fromkeys(DialogStatus, 0)
        for account_id, phone, status, count, *sums in map(tuple, rows):
            before = per_account.get(account_id)
            if before is None:
                before = per_account[account_id] = AccountStats(
                    account_id=account_id,
                    phone=phone,
                    openers_sent=0,
                    messages_sent=0,
                    messages_received=0,
                    dialogs_replied=0,
                    goals=0,
                    opt_outs=0,
                )
            if status is None:  # an account without dialogs
                continue
            status = DialogStatus(status)
            openers, sent, received, replied, goals, rejected, lost, prompt, completion, cached = (
                int(value or 0) for value in sums[:10]
            )
            cost = float(sums[10] or 0)
            spend = before.spend
            by_status[status] += count
            per_account[account_id] = replace(
                before,
                openers_sent=before.openers_sent + openers,
                messages_sent=before.messages_sent + sent,
                messages_received=before.messages_received + received,
                dialogs_replied=before.dialogs_replied + replied,
                goals=before.goals + goals,
                opt_outs=before.opt_outs + (count if status is DialogStatus.OPTED_OUT else 0),
                rejected=before.rejected + rejected,
                not_qualified=before.not_qualified + lost,
                spend=Spend(
                    prompt_tokens=spend.prompt_tokens + prompt,
                    completion_tokens=spend.completion_tokens + completion,
                    cached_tokens=spend.cached_tokens + cached,
                    cost_usd=spend.cost_usd + cost,
                ),
            )
        return AllTimeStats(list(per_account.values()), by_status)

    async def per_day(self, bounds: Sequence[datetime]) -> list[AccountDays]:
        days = len(bounds) - 1
        async with reading(self._engine) as tx:
            await tx.execute(_NO_JIT)
            phones = [tuple(row) for row in (await tx.execute(_ACCOUNTS)).all()]
            rows = (await tx.execute(per_day_statement(bounds))).all() if days > 0 else []
        counts = {account_id: [DayCounts()] * max(days, 0) for account_id, _ in phones}
        for account_id, day, sent, received, goals in map(tuple, rows):
            found = counts[account_id]
            found[day - 1] += DayCounts(int(sent), int(received), int(goals))
        return [AccountDays(account_id, phone, counts[account_id]) for account_id, phone in phones]
