"""Campaigns and their leads: a lead is unique per campaign by its username."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from salesbot.adapters.persistence.models import (
    campaign_from_row,
    campaign_leads,
    campaign_values,
    campaigns,
    dialogs,
    lead_from_row,
    lead_values,
)
from salesbot.adapters.persistence.transaction import Transaction, is_missing_reference
from salesbot.application.errors import RecordNotFound
from salesbot.domain.campaign import Campaign, Lead, LeadStatus

_c = campaigns.c
_l = campaign_leads.c
_ADD = insert(campaigns).returning(*campaigns.c)
_GET = select(campaigns).where(_c.id == bindparam("campaign_id"))
_EVERY = select(campaigns).order_by(_c.id.desc())
_UPDATE = update(campaigns).where(_c.id == bindparam("campaign_id"))
_GET_LEAD = select(campaign_leads).where(_l.id == bindparam("lead_id"))
_LEADS_OF = (
    select(campaign_leads)
    .where(_l.campaign_id == bindparam("campaign_id"))
    .order_by(_l.position, _l.id)
)
_UPDATE_LEAD = update(campaign_leads).where(_l.id == bindparam("lead_id"))
# Run with a list of rows: SQLAlchemy compiles it once and sends it as multi-row INSERTs of
# up to 1,000 rows ("insertmanyvalues"; asyncpg takes at most 32,767 parameters a statement,
# a lead row has nine). A `.values(rows)` statement instead is compiled anew for each call,
# parameter by parameter: 10,000 leads took 3 s of CPU that way.
_ADD_LEADS = postgresql.insert(campaign_leads).on_conflict_do_nothing().returning(_l.id)
# The campaign's first queued lead, read from the partial index ix_campaign_leads_queued
# (one index entry whatever the campaign's size), locked, or passed over if another
# transaction holds it. The status is written into the statement, not bound: a prepared
# statement's generic plan could not use the partial index for `status = $1`, and would
# sort every queued lead of the campaign on each claim. Ordered by the index's own order
# (position alone: a lead's row in its file, unique in the campaign), so no plan sorts,
# whatever the statistics say (a campaign imported a moment ago has none yet).
_QUEUED = text("campaign_leads.status = 'queued'")
_FIRST_QUEUED = (
    select(_l.id)
    .where(_l.campaign_id == bindparam("of_campaign"), _QUEUED)
    .order_by(_l.position)
    .limit(1)
    .with_for_update(skip_locked=True)
    .scalar_subquery()
)
_CLAIM = (
    update(campaign_leads)
    .where(_l.id == _FIRST_QUEUED)
    .values(status=LeadStatus.STARTING, claimed_at=bindparam("now"))
    .returning(*campaign_leads.c)
)
_SETTLE = update(campaign_leads).where(
    _l.id == bindparam("lead_id"),
    _l.status == LeadStatus.STARTING,
    _l.claimed_at == bindparam("claim"),
)
# Leads left `starting`, found through the (campaign_id, status) index campaign by campaign.
_STALE = (
    _l.campaign_id.in_(select(campaigns.c.id)),
    _l.status == LeadStatus.STARTING,
    _l.claimed_at < bindparam("before"),
)
_d = dialogs.c
_NEWEST_DIALOG = (
    select(_d.id, _d.variant)
    .where(_d.campaign_id == _l.campaign_id, _d.target_username == _l.username)
    .order_by(_d.id.desc())
    .limit(1)
    .correlate(campaign_leads)
)
_ITS_DIALOG = _NEWEST_DIALOG.with_only_columns(_d.id).scalar_subquery()
_RECOVER_STARTED = (
    update(campaign_leads)
    .where(*_STALE, _ITS_DIALOG.is_not(None))
    .values(
        status=LeadStatus.STARTED,
        dialog_id=_ITS_DIALOG,
        variant=_NEWEST_DIALOG.with_only_columns(_d.variant).scalar_subquery(),
    )
)
_RECOVER_QUEUED = (
    update(campaign_leads).where(*_STALE).values(status=LeadStatus.QUEUED, claimed_at=None)
)
_PER_VARIANT = (
    select(_l.variant, func.count().label("n"))
    .where(
        _l.campaign_id == bindparam("campaign_id"),
        _l.status == LeadStatus.STARTED,
        _l.variant.is_not(None),
    )
    .group_by(_l.variant)
)


class SqlCampaignRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add(self, campaign: Campaign) -> Campaign:
        values = campaign_values(campaign)
        if campaign.created_at is not None:
            values["created_at"] = campaign.created_at
        row = (await self._tx.execute(_ADD, values)).one()
        return campaign_from_row(row)

    async def get(self, campaign_id: int) -> Campaign | None:
        row = (await self._tx.execute(_GET, {"campaign_id": campaign_id})).first()
        return campaign_from_row(row) if row else None

    async def every(self) -> list[Campaign]:
        return [campaign_from_row(row) for row in await self._tx.execute(_EVERY)]

    async def update(self, campaign: Campaign) -> None:
        params = {**campaign_values(campaign), "campaign_id": campaign.id}
        result = await self._tx.execute(_UPDATE, params)
        if result.rowcount == 0:
            raise RecordNotFound(f"no campaign {campaign.id}")


class SqlLeadRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add_many(self, leads: Sequence[Lead]) -> int:
        if not leads:
            return 0
        rows = [
            {**lead_values(lead), "campaign_id": lead.campaign_id, "position": lead.position}
            for lead in leads
        ]
        try:
            return len((await self._tx.execute(_ADD_LEADS, rows)).all())
        except IntegrityError as exc:
            if is_missing_reference(exc):
                raise RecordNotFound("no such campaign for these leads") from exc
            raise

    async def get(self, lead_id: int) -> Lead | None:
        row = (await self._tx.execute(_GET_LEAD, {"lead_id": lead_id})).first()
        return lead_from_row(row) if row else None

    async def for_campaign(self, campaign_id: int) -> list[Lead]:
        result = await self._tx.execute(_LEADS_OF, {"campaign_id": campaign_id})
        return [lead_from_row(row) for row in result]

    async def update(self, lead: Lead) -> None:
        try:
            result = await self._tx.execute(_UPDATE_LEAD, {**lead_values(lead), "lead_id": lead.id})
        except IntegrityError as exc:
            if is_missing_reference(exc):
                raise RecordNotFound(f"no dialog {lead.dialog_id} for lead {lead.id}") from exc
            raise
        if result.rowcount == 0:
            raise RecordNotFound(f"no lead {lead.id}")

    async def claim_next(self, campaign_ids: Sequence[int], now: datetime) -> Lead | None:
        # One statement per campaign, in the given order, until one has a lead: each reads
        # one entry of the partial index, so a claim costs the same at 100 or 100,000 leads.
        for campaign_id in campaign_ids:
            params = {"of_campaign": campaign_id, "now": now}
            row = (await self._tx.execute(_CLAIM, params)).first()
            if row is not None:
                return lead_from_row(row)
        return None

    async def settle_claim(self, lead: Lead, claimed_at: datetime) -> bool:
        params = {**lead_values(lead), "lead_id": lead.id, "claim": claimed_at}
        try:
            result = await self._tx.execute(_SETTLE, params)
        except IntegrityError as exc:
            if is_missing_reference(exc):
                raise RecordNotFound(f"no dialog {lead.dialog_id} for lead {lead.id}") from exc
            raise
        return bool(result.rowcount)

    async def recover_claims(self, claimed_before: datetime) -> int:
        params = {"before": claimed_before}
        started = (await self._tx.execute(_RECOVER_STARTED, params)).rowcount
        queued = (await self._tx.execute(_RECOVER_QUEUED, params)).rowcount
        return int(started or 0) + int(queued or 0)

    async def started_per_variant(self, campaign_id: int) -> dict[int, int]:
        result = await self._tx.execute(_PER_VARIANT, {"campaign_id": campaign_id})
        return {int(row.variant): int(row.n) for row in result}
