"""The operator's view of the campaigns in SQL (CampaignViews): counts grouped in the
database, one GROUP BY over the campaign's dialogs (by variant) and one over its leads
(by status and skip reason), on the indexes revision 0016 made for them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from salesbot.adapters.persistence.models import (
    campaign_from_row,
    campaign_leads,
    campaigns,
    dialogs,
)
from salesbot.adapters.persistence.transaction import reading
from salesbot.application.campaigns.queries import (
    CampaignFunnel,
    CampaignSummary,
    DialogCounts,
    LeadCounts,
    LeadExport,
    VariantFunnel,
)
from salesbot.domain.campaign import LeadStatus
from salesbot.domain.dialog import DialogStatus, Outcome

_c, _l, _d = campaigns.c, campaign_leads.c, dialogs.c


def _counted(condition: Any) -> Any:
    return func.count().filter(condition)


_DIALOG_COUNTS = (
    func.count().label("started"),
    _counted(_d.messages_received > 0).label("replied"),
    _counted(_d.outcome == Outcome.GOAL).label("goal"),
    _counted(_d.outcome == Outcome.HANDOFF).label("handoff"),
    _counted(_d.outcome.in_((Outcome.REJECTED, Outcome.NOT_QUALIFIED))).label("rejected"),
    _counted(_d.status == DialogStatus.OPTED_OUT).label("opted_out"),
    _counted(_d.status == DialogStatus.FAILED).label("failed"),
)
_COUNT = select(func.count()).select_from(campaigns)
_PAGE = (
    select(campaigns).order_by(_c.id.desc()).offset(bindparam("skip")).limit(bindparam("page_size"))
)
_IDS: Any = bindparam("ids", expanding=True)
_LEADS_PER_CAMPAIGN = (
    select(_l.campaign_id, _l.status, func.count().label("n"))
    .where(_l.campaign_id.in_(_IDS))
    .group_by(_l.campaign_id, _l.status)
)
_DIALOGS_PER_CAMPAIGN = (
    select(
        _d.campaign_id,
        _counted(_d.messages_received > 0).label("replied"),
        _counted(_d.outcome == Outcome.GOAL).label("goal"),
    )
    .where(_d.campaign_id.in_(_IDS))
    .group_by(_d.campaign_id)
)
_ONE = select(campaigns).where(_c.id == bindparam("campaign_id"))
_PER_VARIANT = (
    select(_d.variant, *_DIALOG_COUNTS)
    .where(_d.campaign_id == bindparam("campaign_id"))
    .group_by(_d.variant)
)
_LEADS_PER_REASON = (
    select(_l.status, _l.reason, func.count().label("n"))
    .where(_l.campaign_id == bindparam("campaign_id"))
    .group_by(_l.status, _l.reason)
)
_EXPORT = (
    select(
        _l.username,
        _l.fields,
        _l.status,
        _l.reason,
        _l.variant,
        _l.dialog_id,
        _d.status.label("dialog_status"),
        _d.outcome,
        _d.stage,
        _d.warmth,
        _d.summary,
        _d.messages_received,
        _d.created_at,
        _d.last_activity_at,
    )
    .select_from(campaign_leads.outerjoin(dialogs, _d.id == _l.dialog_id))
    .where(_l.campaign_id == bindparam("campaign_id"))
    .order_by(_l.position, _l.id)
    .offset(bindparam("skip"))
    .limit(bindparam("page_size"))
)


def _lead_counts(rows: Iterable[tuple[LeadStatus, int]]) -> LeadCounts:
    per_status: dict[str, int] = {}
    for status, n in rows:
        per_status[status.value] = per_status.get(status.value, 0) + int(n)
    return LeadCounts(**per_status)


def _dialog_counts(row: Any) -> DialogCounts:
    return DialogCounts(
        started=row.started,
        replied=row.replied,
        goal=row.goal,
        handoff=row.handoff,
        rejected=row.rejected,
        opted_out=row.opted_out,
        failed=row.failed,
    )


def _export(row: Any) -> LeadExport:
    started = row.dialog_status is not None
    return LeadExport(
        username=row.username,
        fields=dict(row.fields or {}),
        status=row.status,
        reason=row.reason,
        variant=row.variant,
        dialog_id=row.dialog_id,
        dialog_status=row.dialog_status,
        outcome=row.outcome,
        stage=row.stage,
        warmth=row.warmth,
        summary=row.summary or "",
        replied=started and row.messages_received > 0,
        started_at=row.created_at,
        last_activity_at=row.last_activity_at,
    )


class SqlCampaignViews:
    """Implements CampaignViews."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def count(self) -> int:
        async with reading(self._engine) as tx:
            return int((await tx.execute(_COUNT)).scalar_one())

    async def summaries(self, *, limit: int, offset: int) -> list[CampaignSummary]:
        if limit <= 0:
            return []
        async with reading(self._engine) as tx:
            found = [
                campaign_from_row(row)
                for row in await tx.execute(_PAGE, {"skip": max(0, offset), "page_size": limit})
            ]
            ids = [c.id for c in found]
            if not ids:
                return []
            leads: dict[int, list[tuple[LeadStatus, int]]] = {}
            for row in await tx.execute(_LEADS_PER_CAMPAIGN, {"ids": ids}):
                leads.setdefault(row.campaign_id, []).append((row.status, row.n))
            said = {
                row.campaign_id: (int(row.replied), int(row.goal))
                for row in await tx.execute(_DIALOGS_PER_CAMPAIGN, {"ids": ids})
            }
        summaries = []
        for campaign in found:
            assert campaign.id is not None
            replied, goal = said.get(campaign.id, (0, 0))
            summaries.append(
                CampaignSummary(
                    campaign_id=campaign.id,
                    name=campaign.name,
                    status=campaign.status,
                    created_at=campaign.created_at,
                    leads=_lead_counts(leads.get(campaign.id, [])),
                    replied=replied,
                    goal=goal,
                )
            )
        return summaries

    async def funnel(self, campaign_id: int) -> CampaignFunnel | None:
        params = {"campaign_id": campaign_id}
        async with reading(self._engine) as tx:
            row = (await tx.execute(_ONE, params)).first()
            if row is None:
                return None
            campaign = campaign_from_row(row)
            per_variant = list(await tx.execute(_PER_VARIANT, params))
            per_reason = list(await tx.execute(_LEADS_PER_REASON, params))
        assert campaign.id is not None
        counted = {r.variant: _dialog_counts(r) for r in per_variant}
        overall = sum(counted.values(), DialogCounts())
        skipped = {
            r.reason: int(r.n)
            for r in sorted(per_reason, key=lambda r: (-r.n, r.reason))
            if r.status is LeadStatus.SKIPPED
        }
        return CampaignFunnel(
            campaign_id=campaign.id,
            name=campaign.name,
            status=campaign.status,
            own_script=bool(campaign.script.strip()),
            variant_texts=campaign.variants,
            created_at=campaign.created_at,
            leads=_lead_counts((r.status, r.n) for r in per_reason),
            dialogs=overall,
            variants=[
                VariantFunnel(i, text, counted.get(i, DialogCounts()))
                for i, text in enumerate(campaign.variants)
            ],
            skipped=skipped,
        )

    async def leads(self, campaign_id: int, *, offset: int, limit: int) -> list[LeadExport]:
        if limit <= 0:
            return []
        params = {"campaign_id": campaign_id, "skip": max(0, offset), "page_size": limit}
        async with reading(self._engine) as tx:
            return [_export(row) for row in await tx.execute(_EXPORT, params)]
