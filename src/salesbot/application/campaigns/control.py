"""The operator's pause, resume and stop of a campaign (/campaign_pause N, /campaign_resume N,
/campaign_stop N).

Only the campaign's status changes: the feeder starts leads of an active campaign only
(`Campaign.feeds`), so a paused or stopped one starts nothing more, and the leads it has
not started stay `queued` (a stop is for good: they are never started). The dialogs it
started go on either way. A move the status does not allow (pausing a paused campaign,
resuming a stopped one) is the domain's IllegalTransition, nothing changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from salesbot.application.campaigns.news import CampaignNews
from salesbot.application.errors import UnknownCampaign
from salesbot.application.ports import UnitOfWorkFactory
from salesbot.domain.campaign import Campaign, CampaignStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CampaignState:
    campaign_id: int
    name: str
    status: CampaignStatus


def _state(campaign: Campaign) -> CampaignState:
    assert campaign.id is not None
    return CampaignState(campaign.id, campaign.name, campaign.status)


class CampaignControl:
    def __init__(self, uow_factory: UnitOfWorkFactory, news: CampaignNews | None = None) -> None:
        self._uow_factory = uow_factory
        self._news = news

    async def get(self, campaign_id: int) -> CampaignState:
        """The campaign's name and status; UnknownCampaign if there is none."""
        async with self._uow_factory() as uow:
            campaign = await uow.campaigns.get(campaign_id)
        if campaign is None:
            raise UnknownCampaign(campaign_id)
        return _state(campaign)

    async def pause(self, campaign_id: int) -> CampaignState:
        """No lead of it is started until it is resumed."""
        return await self._move(campaign_id, "paused", Campaign.pause)

    async def resume(self, campaign_id: int) -> CampaignState:
        """The feeder goes on with the next queued lead."""
        return await self._move(campaign_id, "resumed", Campaign.resume)

    async def stop(self, campaign_id: int) -> CampaignState:
        """For good: its leads not started are never started; its dialogs go on."""
        return await self._move(campaign_id, "stopped", Campaign.stop)

    async def _move(
        self, campaign_id: int, done: str, move: Callable[[Campaign], None]
    ) -> CampaignState:
        async with self._uow_factory() as uow:
            campaign = await uow.campaigns.get(campaign_id)
            if campaign is None:
                raise UnknownCampaign(campaign_id)
            move(campaign)  # IllegalTransition: nothing is written
            await uow.campaigns.update(campaign)
            await uow.commit()
        log.info("campaign %d %s by the operator", campaign_id, done)
        if campaign.feeds and self._news is not None:
            self._news.tell()  # the feeder goes on at once, not at its next idle wake-up
        return _state(campaign)
