"""CampaignControl on the in-memory store: pause, resume and stop move the campaign's status
as the domain allows, a refused move changes nothing, and the leads are left as they are."""

import pytest

from salesbot.application.campaigns.control import CampaignControl, CampaignState
from salesbot.application.campaigns.news import CampaignNews
from salesbot.application.errors import UnknownCampaign
from salesbot.domain.campaign import CampaignStatus, LeadStatus
from salesbot.domain.errors import IllegalTransition
from tests.campaign_seed import L, Started, seed_campaign
from tests.contracts.seeding import add_account
from tests.fakes import FakeClock, FakeUnitOfWork, InMemoryStore


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore(clock=FakeClock())


@pytest.fixture
def new_uow(store):
    return lambda: FakeUnitOfWork(store)


async def _campaign(new_uow) -> int:
    async with new_uow() as uow:
        account = await add_account(uow)
        await uow.commit()
    return await seed_campaign(
        new_uow, account.id, [L("anna_salon", started=Started()), L("boris_salon")]
    )


async def _status(new_uow, n: int) -> CampaignStatus:
    async with new_uow() as uow:
        campaign = await uow.campaigns.get(n)
    assert campaign is not None
    return campaign.status


async def test_pause_then_resume_and_each_refuses_a_move_already_made(new_uow):
    n = await _campaign(new_uow)
    control = CampaignControl(new_uow)

    assert await control.pause(n) == CampaignState(n, "Salons, Moscow", CampaignStatus.PAUSED)
    assert await _status(new_uow, n) is CampaignStatus.PAUSED
    with pytest.raises(IllegalTransition):
        await control.pause(n)
    assert (await control.resume(n)).status is CampaignStatus.ACTIVE
    with pytest.raises(IllegalTransition):
        await control.resume(n)
    assert await _status(new_uow, n) is CampaignStatus.ACTIVE


async def test_a_stopped_campaign_never_moves_again_and_its_leads_stay_as_they_were(new_uow):
    n = await _campaign(new_uow)
    control = CampaignControl(new_uow)
    await control.pause(n)

    assert (await control.stop(n)).status is CampaignStatus.STOPPED

    for move in (control.resume, control.pause, control.stop):
        with pytest.raises(IllegalTransition):
            await move(n)
    assert await _status(new_uow, n) is CampaignStatus.STOPPED
    async with new_uow() as uow:
        leads = await uow.leads.for_campaign(n)
        dialogs = [await uow.dialogs.get(lead.dialog_id) for lead in leads if lead.dialog_id]
    assert [lead.status for lead in leads] == [LeadStatus.STARTED, LeadStatus.QUEUED]
    assert [d.status.value for d in dialogs if d] == ["active"]  # its dialog goes on


async def test_an_unknown_campaign_is_named(new_uow):
    control = CampaignControl(new_uow)
    for call in (control.get, control.pause, control.resume, control.stop):
        with pytest.raises(UnknownCampaign) as refused:
            await call(404)
        assert refused.value.campaign_id == 404


async def test_a_resumed_campaign_is_news_for_the_feeder_and_a_pause_is_not(new_uow):
    """The feeder goes on with a resumed campaign at once, not at its next idle wake-up."""
    n = await _campaign(new_uow)
    news = CampaignNews()
    told: list[str] = []
    news.listen(lambda: told.append("news"))
    control = CampaignControl(new_uow, news=news)

    await control.pause(n)
    assert told == []
    await control.resume(n)
    assert told == ["news"]
    await control.stop(n)
    assert told == ["news"]
