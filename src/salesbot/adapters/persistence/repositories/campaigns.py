"""Campaigns and their leads: a lead is unique per campaign by its username."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from salesbot.adapters.persistence.models import (
    campaign_from_row,
    campaign_leads,
    campaign_values,
    campaigns,
    lead_from_row,
    lead_values,
)
from salesbot.adapters.persistence.transaction import Transaction, is_missing_reference
from salesbot.application.errors import RecordNotFound
from salesbot.domain.campaign import Campaign, Lead

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
