"""A campaign: a lead list started as paced dialogs, with its own script and opener variants.

A campaign is `active` (the feeder starts its leads as accounts have room), `paused` (nothing
is started; resuming goes on where it stopped) or `stopped` (for good: the leads not started
stay queued, the dialogs already started go on). Each lead is `queued`, `starting` (a feeder
took it and is writing its opener), `started` (its dialog exists) or `skipped` (it could not
be started; the reason says why).

Opener variants are instructions for the opener, assigned evenly: a lead gets the variant
the fewest of the campaign's dialogs have so far (`next_variant`), so the counts never
differ by more than one whatever the order of starts, restarts included.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from salesbot.domain.errors import IllegalTransition


class CampaignStatus(str, enum.Enum):
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"


_CAMPAIGN_MOVES: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    CampaignStatus.ACTIVE: frozenset({CampaignStatus.PAUSED, CampaignStatus.STOPPED}),
    CampaignStatus.PAUSED: frozenset({CampaignStatus.ACTIVE, CampaignStatus.STOPPED}),
    CampaignStatus.STOPPED: frozenset(),
}


class LeadStatus(str, enum.Enum):
    QUEUED = "queued"
    STARTING = "starting"
    STARTED = "started"
    SKIPPED = "skipped"


MAX_CAMPAIGN_NAME_CHARS = 100
MAX_VARIANT_CHARS = 1000


@dataclass
class Campaign:
    name: str
    id: int | None = None
    script: str = ""
    """The campaign's own sales script; empty: the global one."""
    variants: tuple[str, ...] = ()
    """Instructions for the opener, assigned evenly; none: the opener as the script says."""
    status: CampaignStatus = CampaignStatus.ACTIVE
    created_at: datetime | None = None

    def _move(self, target: CampaignStatus) -> None:
        if target not in _CAMPAIGN_MOVES[self.status]:
            raise IllegalTransition("campaign", self.status.value, target.value)
        self.status = target

    def pause(self) -> None:
        self._move(CampaignStatus.PAUSED)

    def resume(self) -> None:
        self._move(CampaignStatus.ACTIVE)

    def stop(self) -> None:
        self._move(CampaignStatus.STOPPED)

    @property
    def feeds(self) -> bool:
        """Whether the feeder may start its leads now."""
        return self.status is CampaignStatus.ACTIVE

    def copy(self) -> Campaign:
        return replace(self)


@dataclass
class Lead:
    campaign_id: int
    username: str
    """Normalized (`domain/username.py`), without the @."""
    position: int = 0
    """Its row in the imported file (1-based; the header is not counted): the feeder's order."""
    fields: Mapping[str, str] = field(default_factory=dict)
    """The file's other columns (context, name, company, …), passed to the model."""
    id: int | None = None
    status: LeadStatus = LeadStatus.QUEUED
    variant: int | None = None
    """Index into the campaign's variants, set when it is started."""
    dialog_id: int | None = None
    reason: str = ""
    """Why it was skipped."""
    claimed_at: datetime | None = None
    """When a feeder took it (`starting`)."""

    def copy(self) -> Lead:
        return replace(self, fields=dict(self.fields))


def next_variant(variants: Sequence[str], started_per_variant: Mapping[int, int]) -> int | None:
    """The variant for the next lead: the one the fewest dialogs have (the first on a tie);
    None when the campaign has no variants."""
    if not variants:
        return None
    return min(range(len(variants)), key=lambda i: (started_per_variant.get(i, 0), i))
