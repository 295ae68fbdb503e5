"""A campaign with its leads, some started as dialogs that went one way or another, stored
through a unit of work (the fake's or PostgreSQL's): what the import and the feeder would
have written, for the tests of what the operator reads and does."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from salesbot.application.ports import UnitOfWorkFactory
from salesbot.domain.campaign import Campaign, CampaignStatus, Lead, LeadStatus
from salesbot.domain.dialog import Dialog, DialogStatus, Outcome, Stage
from salesbot.domain.message import Message

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
_telegram_ids = itertools.count(10_000)


@dataclass(frozen=True)
class Started:
    """A lead's dialog: with which variant, and what became of it."""

    variant: int | None = 0
    replied: bool = False
    outcome: Outcome = Outcome.CONTINUE
    status: DialogStatus = DialogStatus.ACTIVE
    stage: Stage = Stage.INTRODUCTION
    warmth: int = 0
    summary: str = ""


@dataclass(frozen=True)
class L:
    """One lead: queued (neither started nor skipped), started, or skipped with a reason."""

    username: str
    fields: Mapping[str, str] = field(default_factory=dict)
    started: Started | None = None
    skipped: str = ""
    starting: bool = False


async def seed_campaign(
    uow_factory: UnitOfWorkFactory,
    account_id: int,
    leads: Sequence[L],
    *,
    name: str = "Salons, Moscow",
    variants: Sequence[str] = (),
    script: str = "",
    status: CampaignStatus = CampaignStatus.ACTIVE,
    created_at: datetime = T0,
) -> int:
    """The campaign's number."""
    async with uow_factory() as uow:
        campaign = await uow.campaigns.add(
            Campaign(
                name, script=script, variants=tuple(variants), status=status, created_at=created_at
            )
        )
        assert campaign.id is not None
        await uow.leads.add_many(
            [
                Lead(campaign.id, lead.username, position=n, fields=dict(lead.fields))
                for n, lead in enumerate(leads, start=1)
            ]
        )
        stored = {lead.username: lead for lead in await uow.leads.for_campaign(campaign.id)}
        for n, wanted in enumerate(leads):
            lead = stored[wanted.username]
            if wanted.skipped:
                lead.status, lead.reason = LeadStatus.SKIPPED, wanted.skipped
            elif wanted.starting:
                lead.status, lead.claimed_at = LeadStatus.STARTING, created_at
            elif wanted.started is not None:
                s = wanted.started
                moment = created_at + timedelta(minutes=n)
                dialog = await uow.dialogs.add(
                    Dialog(
                        account_id=account_id,
                        target_username=wanted.username,
                        status=s.status,
                        created_at=moment,
                        last_activity_at=moment + timedelta(minutes=30),
                        stage=s.stage,
                        warmth=s.warmth,
                        summary=s.summary,
                        outcome=s.outcome,
                        campaign_id=campaign.id,
                        variant=s.variant,
                    )
                )
                assert dialog.id is not None
                if s.replied:
                    await uow.messages.add(
                        Message.incoming(
                            dialog.id,
                            account_id,
                            "hello",
                            moment + timedelta(minutes=5),
                            next(_telegram_ids),
                        )
                    )
                lead.status, lead.variant, lead.dialog_id = LeadStatus.STARTED, s.variant, dialog.id
            else:
                continue
            await uow.leads.update(lead)
        await uow.commit()
    return campaign.id
