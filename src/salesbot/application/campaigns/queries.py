"""What the operator reads of the campaigns, as a query port answered in SQL by the
persistence adapter (tested on PostgreSQL): the list with progress (/campaigns), the
funnel overall and per opener variant (/campaign N), every lead for a CRM
(/campaign_export N).

The funnel's words: a lead is *started* when its dialog exists; the dialog *replied* when
the prospect wrote at least once (`messages_received > 0`, kept by the database's
triggers); *goal* and *hand-off* are the dialog's outcome; *rejected* is the outcome
`rejected` or `not_qualified`; *opted out* and *failed* are the dialog's status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from salesbot.domain.campaign import CampaignStatus, LeadStatus
from salesbot.domain.dialog import DialogStatus, Outcome, Stage


@dataclass(frozen=True)
class LeadCounts:
    """A campaign's leads per status."""

    queued: int = 0
    starting: int = 0
    """Taken by the feeder, its opener being written."""
    started: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        return self.queued + self.starting + self.started + self.skipped


@dataclass(frozen=True)
class DialogCounts:
    """What became of a campaign's dialogs (all of them, or one variant's)."""

    started: int = 0
    replied: int = 0
    goal: int = 0
    handoff: int = 0
    rejected: int = 0
    opted_out: int = 0
    failed: int = 0

    def __add__(self, other: DialogCounts) -> DialogCounts:
        return DialogCounts(
            *(getattr(self, name) + getattr(other, name) for name in _DIALOG_COUNTS)
        )

    @property
    def reply_rate(self) -> float | None:
        """replied / started; None before anything started."""
        return self.replied / self.started if self.started else None

    @property
    def goal_rate(self) -> float | None:
        """goal / started; None before anything started."""
        return self.goal / self.started if self.started else None


_DIALOG_COUNTS = ("started", "replied", "goal", "handoff", "rejected", "opted_out", "failed")


@dataclass(frozen=True)
class CampaignSummary:
    """One line of /campaigns."""

    campaign_id: int
    name: str
    status: CampaignStatus
    created_at: datetime | None
    leads: LeadCounts
    replied: int
    goal: int


@dataclass(frozen=True)
class VariantFunnel:
    index: int
    """Into the campaign's variants (0-based; the operator reads it 1-based)."""
    text: str
    counts: DialogCounts


@dataclass(frozen=True)
class CampaignFunnel:
    """/campaign N."""

    campaign_id: int
    name: str
    status: CampaignStatus
    own_script: bool
    variant_texts: tuple[str, ...]
    created_at: datetime | None
    leads: LeadCounts
    dialogs: DialogCounts
    """Every dialog of the campaign."""
    variants: list[VariantFunnel]
    """One per variant of the campaign, in order (zeros for one nothing started with yet);
    dialogs started without a variant are only in `dialogs`."""
    skipped: Mapping[str, int] = field(default_factory=dict)
    """Skipped leads per reason, the most frequent first."""


@dataclass(frozen=True)
class LeadExport:
    """One lead and its dialog (if started), for the CSV a CRM imports."""

    username: str
    fields: Mapping[str, str]
    status: LeadStatus
    reason: str
    variant: int | None
    dialog_id: int | None
    dialog_status: DialogStatus | None
    outcome: Outcome | None
    stage: Stage | None
    warmth: int | None
    summary: str
    replied: bool
    started_at: datetime | None
    last_activity_at: datetime | None


class CampaignViews(Protocol):
    async def count(self) -> int:
        """How many campaigns there are."""
        ...

    async def summaries(self, *, limit: int, offset: int) -> list[CampaignSummary]:
        """Campaigns newest first (higher number first), with their progress."""
        ...

    async def funnel(self, campaign_id: int) -> CampaignFunnel | None:
        """The campaign's funnel; None if there is no such campaign. Two grouped reads
        (its dialogs, its leads), whatever the campaign's size."""
        ...

    async def leads(self, campaign_id: int, *, offset: int, limit: int) -> list[LeadExport]:
        """At most `limit` of the campaign's leads in the file's order (position, then id),
        skipping the first `offset`: every lead, page after page."""
        ...
