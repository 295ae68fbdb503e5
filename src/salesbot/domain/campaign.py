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
from datetime import datetime, timedelta

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


MAX_LEAD_NOTES_CHARS = 2000
"""As much of a lead's fields as the dialog's notes take (start_dialog's MAX_NOTES_CHARS)."""
_CONTEXT_FIRST = ("context", "notes")


def lead_notes(fields: Mapping[str, str]) -> str:
    """A lead's fields as the dialog's notes for the model: one `name: value` line each,
    the context (or notes) first, then the others in the file's order; empty values left
    out; at most MAX_LEAD_NOTES_CHARS."""
    items = [(k.strip(), " ".join(str(v).split())) for k, v in fields.items()]
    items = [(k, v) for k, v in items if k and v]
    first = [(k, v) for k, v in items if k.lower() in _CONTEXT_FIRST]
    rest = [(k, v) for k, v in items if k.lower() not in _CONTEXT_FIRST]
    return "\n".join(f"{k}: {v}" for k, v in first + rest)[:MAX_LEAD_NOTES_CHARS]


class SkipReason:
    """Why the feeder skipped a lead (`Lead.reason`)."""

    DO_NOT_CONTACT = "do_not_contact"
    """On the do-not-contact list (added since the import)."""
    IN_DIALOG = "already_in_dialog"
    """Already in an open dialog (started since the import, by hand or another campaign)."""
    INVALID = "invalid_username"
    # Telegram's answers to the username (RecipientUnreachable's reasons).
    NOT_FOUND = "not_found"
    PRIVACY = "privacy"
    DEACTIVATED = "deactivated"
    OPENER_REFUSED = "opener_refused"
    """The model's opener failed the output guard twice (the writer's own retry included)."""


def next_start_at(
    remaining: int, next_slot: datetime, queued: int, min_delay: timedelta
) -> datetime | None:
    """The pacing rule of the feeder: when an account may take a new opener, given its
    allowance today (`remaining` sends, the next at `next_slot`) and the `queued` messages
    waiting to go ahead of it (each takes a slot, the minimum delay apart); None when what
    it sent and has queued uses today's cap. An opener written at that moment is sent at
    once, so none waits hours in the outbox."""
    if remaining - queued <= 0:
        return None
    return next_slot + queued * min_delay
