"""CampaignRepository and LeadRepository: a campaign keeps its script, variants and status; a
lead is unique per campaign by username and keeps the file's order."""

from __future__ import annotations

import pytest

from salesbot.application.errors import RecordNotFound
from salesbot.domain.campaign import Campaign, CampaignStatus, Lead, LeadStatus
from salesbot.domain.dialog import Dialog
from tests.contracts.seeding import T0, account_and_dialog, add_account, at


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


async def add_leads(new_uow, campaign, *usernames) -> None:
    async with new_uow() as uow:
        leads = [Lead(campaign.id, name, position=i) for i, name in enumerate(usernames, 1)]
        await uow.leads.add_many(leads)
        await uow.commit()


async def test_a_claim_takes_the_first_queued_lead_of_the_first_campaign_that_has_one(new_uow):
    empty = await add_campaign(new_uow)
    campaign = await add_campaign(new_uow)
    await add_leads(new_uow, campaign, "anna_flowers", "carol_w")
    async with new_uow() as uow:
        first = await uow.leads.claim_next([empty.id, campaign.id], at(1))
        second = await uow.leads.claim_next([empty.id, campaign.id], at(2))
        none = await uow.leads.claim_next([empty.id, campaign.id], at(3))
        await uow.commit()
    assert (first.username, first.status, first.claimed_at) == (
        "anna_flowers",
        LeadStatus.STARTING,
        at(1),
    )
    assert second.username == "carol_w"
    assert none is None
    async with new_uow() as uow:
        assert (await uow.leads.get(first.id)).status is LeadStatus.STARTING


async def test_a_claim_is_settled_only_under_the_claim_that_took_it(new_uow):
    campaign = await add_campaign(new_uow, variants=("a", "b"))
    _, dialog = await account_and_dialog(new_uow, "anna_flowers")
    await add_leads(new_uow, campaign, "anna_flowers")
    async with new_uow() as uow:
        lead = await uow.leads.claim_next([campaign.id], at(1))
        await uow.commit()
    lead.status, lead.dialog_id, lead.variant = LeadStatus.STARTED, dialog.id, 1
    async with new_uow() as uow:
        assert not await uow.leads.settle_claim(lead, at(0))  # another, older claim
        assert await uow.leads.settle_claim(lead, at(1))
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.leads.get(lead.id) == lead
        assert not await uow.leads.settle_claim(lead, at(1))  # started: no claim runs
        assert await uow.leads.started_per_variant(campaign.id) == {1: 1}


async def test_claims_left_by_a_crash_go_back_to_the_queue_or_to_their_dialog(new_uow):
    campaign = await add_campaign(new_uow)
    await add_leads(new_uow, campaign, "anna_flowers", "carol_w", "dora_k")
    async with new_uow() as uow:
        account = await add_account(uow)
        dialog = await uow.dialogs.add(
            Dialog(
                account_id=account.id,
                target_username="carol_w",
                created_at=T0,
                campaign_id=campaign.id,
                variant=0,
            )
        )
        claims = [await uow.leads.claim_next([campaign.id], at(m)) for m in (1, 2, 10)]
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.leads.recover_claims(at(5)) == 2  # the one of minute 10 is fresh
        await uow.commit()
    async with new_uow() as uow:
        got = {lead.username: lead for lead in await uow.leads.for_campaign(campaign.id)}
    assert (got["anna_flowers"].status, got["anna_flowers"].claimed_at) == (
        LeadStatus.QUEUED,
        None,
    )
    assert (got["carol_w"].status, got["carol_w"].dialog_id, got["carol_w"].variant) == (
        LeadStatus.STARTED,
        dialog.id,
        0,
    )
    assert got["dora_k"].status is LeadStatus.STARTING
    assert claims[2].username == "dora_k"


async def test_started_per_variant_counts_only_started_leads_of_the_campaign(new_uow):
    campaign = await add_campaign(new_uow, variants=("a", "b"))
    other = await add_campaign(new_uow, variants=("a", "b"))
    await add_leads(new_uow, campaign, "anna_flowers", "carol_w", "dora_k")
    await add_leads(new_uow, other, "anna_flowers")
    async with new_uow() as uow:
        assert await uow.leads.started_per_variant(campaign.id) == {}
        leads = await uow.leads.for_campaign(campaign.id)
        for lead, (status, variant) in zip(
            leads,
            [(LeadStatus.SKIPPED, 0), (LeadStatus.STARTED, 1), (LeadStatus.STARTED, 1)],
            strict=True,
        ):
            lead.status, lead.variant = status, variant
            await uow.leads.update(lead)
        [theirs] = await uow.leads.for_campaign(other.id)
        theirs.status, theirs.variant = LeadStatus.STARTED, 0
        await uow.leads.update(theirs)
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.leads.started_per_variant(campaign.id) == {1: 2}
