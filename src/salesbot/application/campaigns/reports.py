"""What the operator reads of the campaigns: the list a page at a time, one campaign's
funnel, every lead of one for its export. Read through the CampaignViews query port."""

from __future__ import annotations

from dataclasses import dataclass

from salesbot.application.admin.paging import DEFAULT_PAGE_SIZE, Page, clamp_page
from salesbot.application.campaigns.queries import (
    CampaignFunnel,
    CampaignSummary,
    CampaignViews,
    LeadExport,
)
from salesbot.application.errors import UnknownCampaign

EXPORT_BATCH = 2000
"""Leads read per query for an export."""


@dataclass(frozen=True)
class CampaignExport:
    campaign: CampaignFunnel
    leads: list[LeadExport]
    """Every lead, in the file's order."""


class CampaignReports:
    def __init__(
        self,
        views: CampaignViews,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        batch_size: int = EXPORT_BATCH,
    ) -> None:
        self._views = views
        self._page_size = page_size
        self._batch_size = batch_size

    async def page(self, page: int = 1) -> Page[CampaignSummary]:
        """The campaigns with their progress, newest first."""
        total = await self._views.count()
        page, pages = clamp_page(page, total, self._page_size)
        rows = await self._views.summaries(
            limit=self._page_size, offset=(page - 1) * self._page_size
        )
        return Page(rows=rows, page=page, pages=pages, total=total)

    async def funnel(self, campaign_id: int) -> CampaignFunnel:
        """Raises UnknownCampaign."""
        found = await self._views.funnel(campaign_id)
        if found is None:
            raise UnknownCampaign(campaign_id)
        return found

    async def export(self, campaign_id: int) -> CampaignExport:
        """The campaign and every lead of it. Raises UnknownCampaign. The leads are held
        at once: the file's columns (the union of the leads' fields) come before its
        rows; a lead is a few hundred bytes, 10,000 of them a few megabytes."""
        campaign = await self.funnel(campaign_id)
        leads: list[LeadExport] = []
        while True:
            batch = await self._views.leads(campaign_id, offset=len(leads), limit=self._batch_size)
            leads += batch
            if len(batch) < self._batch_size:
                return CampaignExport(campaign, leads)
