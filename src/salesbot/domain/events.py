"""What happened, told to the operator: the admin bot formats each in the admin's language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from salesbot.domain.media import Media


@dataclass(frozen=True)
class Event:
    """Base of every notice to the admins."""


@dataclass(frozen=True)
class ProspectReplied(Event):
    dialog_id: int
    username: str
    text: str
    media: Media | None = None
    """What the message carried besides words (`text` then holds its description)."""


@dataclass(frozen=True)
class ProspectWroteToOperator(Event):
    """The prospect wrote in a dialog where the AI does not answer (paused, handed off,
    goal reached, or closed): every such message is the operator's to read, at once."""

    dialog_id: int
    username: str
    account_id: int
    text: str
    status: str
    """The dialog's status: `paused` (the operator may answer) or a closed one."""
    media: Media | None = None


@dataclass(frozen=True)
class GoalReached(Event):
    dialog_id: int
    username: str
    summary: str


@dataclass(frozen=True)
class HandoffRequested(Event):
    dialog_id: int
    username: str
    summary: str


@dataclass(frozen=True)
class DialogLost(Event):
    """The model read a clear no (`outcome` rejected) or a lead that cannot buy
    (not_qualified): the dialog is finished after a polite closing word."""

    dialog_id: int
    username: str
    outcome: str
    summary: str


@dataclass(frozen=True)
class ProspectOptedOut(Event):
    dialog_id: int
    username: str


@dataclass(frozen=True)
class DialogFailed(Event):
    dialog_id: int
    username: str
    reason: str


@dataclass(frozen=True)
class DialogPaused(Event):
    dialog_id: int
    username: str
    reason: str
    draft: str = ""
    """What the AI would have sent, held back because it failed a check ("" when none)."""


@dataclass(frozen=True)
class DraftWritten(Event):
    """Review mode: the AI wrote a message that waits for the admin (Approve, Edit,
    Regenerate, Discard); nothing goes to the prospect before an approval."""

    dialog_id: int
    username: str
    account_id: int
    message_id: int
    text: str
    kind: str
    """The message's OutKind value: `opener`, `reply` or `follow_up`."""
    answering: str = ""
    """What the prospect wrote that a reply answers: the admin judges the draft beside it
    (a message after the first reply is told nowhere else while the AI answers)."""


@dataclass(frozen=True)
class AccountLimited(Event):
    account_id: int
    phone: str
    until: datetime


@dataclass(frozen=True)
class FloodWaitStarted(Event):
    """Telegram made the account wait (FloodWait) for long (`LONG_FLOOD_WAIT` or more):
    told once per wait; its messages go when it ends."""

    account_id: int
    phone: str
    until: datetime


@dataclass(frozen=True)
class AccountLoggedOut(Event):
    account_id: int
    phone: str


@dataclass(frozen=True)
class AccountBanned(Event):
    account_id: int
    phone: str


@dataclass(frozen=True)
class LlmFailing(Event):
    """The model provider refuses us (bad key, no credits): told once, not per message."""

    reason: str


@dataclass(frozen=True)
class LlmRecovered(Event):
    pass


@dataclass(frozen=True)
class WaitingForQuota(Event):
    dialog_id: int
    username: str
    next_at: datetime


@dataclass(frozen=True)
class OperatorWrote(Event):
    """Someone wrote to the prospect from the account in the Telegram app: the AI of the
    dialog stepped aside (paused) so it does not talk over them."""

    dialog_id: int
    username: str
    text: str
    paused: bool
    """False when the dialog's AI was not on anyway."""


@dataclass(frozen=True)
class DatabaseUnreachable(Event):
    """PostgreSQL stopped answering: told once per outage. Messages that arrive meanwhile
    wait in memory, unacknowledged, and are stored when it is back."""

    reason: str


@dataclass(frozen=True)
class DatabaseBack(Event):
    down_seconds: float


@dataclass(frozen=True)
class CampaignPaused(Event):
    """The feeder paused a campaign: the model's openers for its leads kept failing the
    output guard (the script or the variants likely ask for what the guard refuses)."""

    campaign_id: int
    name: str
    refused: int
    """Leads in a row whose opener was refused (each skipped)."""
    reason: str


@dataclass(frozen=True)
class WebhookFailing(Event):
    """The CRM's webhook has not taken events for a while: told once per outage. Nothing is
    dropped; the events wait in the database and are retried."""

    reason: str
    minutes: int
    waiting: int
    """Events waiting to be delivered."""


@dataclass(frozen=True)
class WebhookRecovered(Event):
    down_minutes: int
