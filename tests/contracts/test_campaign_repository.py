"""CampaignRepository and LeadRepository: a campaign keeps its script, variants and status; a
lead is unique per campaign by username and keeps the file's order."""

from __future__ import annotations

import pytest

from salesbot.application.errors import RecordNotFound
from salesbot.domain.campaign import Campaign, CampaignStatus, Lead, LeadStatus
from tests.contracts.seeding import T0, account_and_dialog


async def add_campaign(new_uow, **fields) -> Campaign:
    async with new_uow() as uow:
        stored = await uow.campaigns.add(Campaign(name="Цветы, весна", created_at=T0, **fields))
        await uow.commit()
    return stored


async def test_a_campaign_is_stored_with_its_script_variants_and_status(new_uow):
    first = await add_campaign(new_uow)
    second = await add_campaign(
        new_uow, script="Продаём тюльпаны", variants=("коротко", "с вопросом")
    )
    async with new_uow() as uow:
        got = await uow.campaigns.get(second.id)
        every = await uow.campaigns.every()
    assert got == Campaign(
        name="Цветы, весна",
        id=second.id,
        script="Продаём тюльпаны",
        variants=("коротко", "с вопросом"),
        status=CampaignStatus.ACTIVE,
        created_at=T0,
    )
    assert [c.id for c in every] == [second.id, first.id]  # newest first


async def test_a_campaign_update_writes_its_status_and_a_missing_one_is_refused(new_uow):
    campaign = await add_campaign(new_uow)
    campaign.pause()
    async with new_uow() as uow:
        await uow.campaigns.update(campaign)
        await uow.commit()
    async with new_uow() as uow:
        assert (await uow.campaigns.get(campaign.id)).status is CampaignStatus.PAUSED
        with pytest.raises(RecordNotFound):
            await uow.campaigns.update(Campaign(name="gone", id=campaign.id + 1000))


async def test_leads_keep_the_files_order_and_a_username_once_per_campaign(new_uow):
    campaign = await add_campaign(new_uow)
    other = await add_campaign(new_uow)
    leads = [
        Lead(campaign.id, "carol_w", position=2, fields={"company": "ООО Ромашка"}),
        Lead(campaign.id, "anna_flowers", position=1, fields={"context": "магазин"}),
        Lead(campaign.id, "carol_w", position=3),  # the same person again
        Lead(other.id, "carol_w", position=1),  # another campaign may have her
    ]
    async with new_uow() as uow:
        assert await uow.leads.add_many(leads) == 3
        await uow.commit()
    async with new_uow() as uow:
        got = await uow.leads.for_campaign(campaign.id)
    assert [(lead.username, lead.position, dict(lead.fields)) for lead in got] == [
        ("anna_flowers", 1, {"context": "магазин"}),
        ("carol_w", 2, {"company": "ООО Ромашка"}),
    ]
    assert all(lead.status is LeadStatus.QUEUED and lead.dialog_id is None for lead in got)


async def test_a_lead_update_records_its_dialog_and_variant(new_uow):
    campaign = await add_campaign(new_uow, variants=("a", "b"))
    _, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        await uow.leads.add_many([Lead(campaign.id, "alice_smith", position=1)])
        await uow.commit()
    async with new_uow() as uow:
        [lead] = await uow.leads.for_campaign(campaign.id)
        lead.status, lead.variant, lead.dialog_id = LeadStatus.STARTED, 1, dialog.id
        await uow.leads.update(lead)
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.leads.get(lead.id) == lead
        with pytest.raises(RecordNotFound):
            await uow.leads.update(Lead(campaign.id, "nobody", id=lead.id + 1000))


async def test_leads_of_a_missing_campaign_are_refused(new_uow):
    async with new_uow() as uow:
        with pytest.raises(RecordNotFound):
            await uow.leads.add_many([Lead(404, "anna_flowers", position=1)])
