"""A conversation with one prospect, held by one account; the operator's `N` is its id."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

from salesbot.domain.errors import IllegalTransition
from salesbot.domain.message import Message, OutKind


class DialogStatus(str, enum.Enum):
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"
    FINISHED = "finished"
    OPTED_OUT = "opted_out"
    FAILED = "failed"


class Stage(str, enum.Enum):
    """Where the sale stands; the model moves it and the operator sees it."""

    INTRODUCTION = "introduction"
    QUALIFICATION = "qualification"
    VALUE = "value"
    OBJECTIONS = "objections"
    CLOSE = "close"


class Outcome(str, enum.Enum):
    """What the model says the conversation reached with its latest reply."""

    CONTINUE = "continue"
    GOAL = "goal"
    HANDOFF = "handoff"
    OPT_OUT = "opt_out"
    REJECTED = "rejected"
    """The person clearly said no (no budget, happy with another supplier, not interested)."""
    NOT_QUALIFIED = "not_qualified"
    """The person cannot be a customer as the script defines one (not the decision maker
    and no way to one, no need at all)."""


LOST_OUTCOMES = frozenset({Outcome.REJECTED, Outcome.NOT_QUALIFIED})
"""A lead lost: the dialog ends politely (the closing word still goes) and nothing more."""


OPEN_STATUSES = frozenset({DialogStatus.ACTIVE, DialogStatus.PAUSED})
CLOSED_STATUSES = frozenset(set(DialogStatus) - OPEN_STATUSES)

_ALLOWED: dict[DialogStatus, frozenset[DialogStatus]] = {
    DialogStatus.ACTIVE: frozenset(
        {
            DialogStatus.PAUSED,
            DialogStatus.STOPPED,
            DialogStatus.FINISHED,
            DialogStatus.OPTED_OUT,
            DialogStatus.FAILED,
        }
    ),
    DialogStatus.PAUSED: frozenset(
        {
            DialogStatus.ACTIVE,
            DialogStatus.STOPPED,
            DialogStatus.FINISHED,
            DialogStatus.OPTED_OUT,
            DialogStatus.FAILED,
        }
    ),
    # A closed dialog never talks again; a prospect may still opt out of it afterwards,
    # which is the stronger fact and must be recorded.
    DialogStatus.STOPPED: frozenset({DialogStatus.OPTED_OUT}),
    DialogStatus.FINISHED: frozenset({DialogStatus.OPTED_OUT}),
    DialogStatus.FAILED: frozenset({DialogStatus.OPTED_OUT}),
    DialogStatus.OPTED_OUT: frozenset(),
}

MIN_WARMTH = 0
MAX_WARMTH = 100


@dataclass
class Dialog:
    account_id: int
    target_username: str
    status: DialogStatus = DialogStatus.ACTIVE
    id: int | None = None
    target_user_id: int | None = None
    notes: str = ""
    """The operator's notes about the lead (`/start @user <notes>`), shown to the model."""
    created_at: datetime | None = None
    last_activity_at: datetime | None = None
    stage: Stage = Stage.INTRODUCTION
    warmth: int = 0
    outcome: Outcome = Outcome.CONTINUE
    summary: str = ""
    status_reason: str = ""
    follow_ups_sent: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cached_tokens: int = 0
    """Of `prompt_tokens`, those the provider read from its prompt cache (billed less)."""
    review: bool | None = None
    """The operator's `/review N on|off` for this dialog; None follows REVIEW_MODE."""
    campaign_id: int | None = None
    """The campaign whose lead this dialog is; None: begun by `/start`."""
    variant: int | None = None
    """The campaign's opener variant it was started with (an index into its variants)."""

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def ai_enabled(self) -> bool:
        """Whether the model may write in this dialog now."""
        return self.status is DialogStatus.ACTIVE

    def may_send(self, message: Message) -> bool:
        """Whether a message queued in this dialog may go now.

        An active dialog sends what is queued. A paused one sends the operator's own words,
        and the AI's last words queued with the pause itself (a goal's or a hand-off's
        confirmation to the prospect); whatever else the AI queued is held back (pausing by
        hand cancels it). A finished dialog sends only the last word queued when it was
        closed (the polite goodbye to a lost lead). Any other closed dialog never talks
        again."""
        if self.status is DialogStatus.ACTIVE:
            return True
        if self.status is DialogStatus.FINISHED:
            return message.last_word
        if self.status is not DialogStatus.PAUSED:
            return False
        return message.kind is OutKind.MANUAL or message.last_word

    def _move(self, target: DialogStatus, reason: str = "") -> None:
        if target not in _ALLOWED[self.status]:
            raise IllegalTransition("dialog", self.status.value, target.value)
        self.status = target
        self.status_reason = reason

    def pause(self, reason: str = "") -> None:
        self._move(DialogStatus.PAUSED, reason)

    def resume(self) -> None:
        self._move(DialogStatus.ACTIVE)

    def stop(self, reason: str = "") -> None:
        self._move(DialogStatus.STOPPED, reason)

    def finish(self, reason: str = "") -> None:
        self._move(DialogStatus.FINISHED, reason)

    def close_as_lost(self, outcome: Outcome, reason: str = "") -> None:
        """The lead is lost (`LOST_OUTCOMES`): finished, the outcome kept for /stats."""
        if outcome not in LOST_OUTCOMES:
            raise ValueError(f"{outcome.value} is not a lost lead's outcome")
        self._move(DialogStatus.FINISHED, reason)
        self.outcome = outcome

    def opt_out(self, reason: str = "") -> None:
        self._move(DialogStatus.OPTED_OUT, reason)
        self.outcome = Outcome.OPT_OUT

    def fail(self, reason: str) -> None:
        self._move(DialogStatus.FAILED, reason)

    def record_progress(self, stage: Stage | None, warmth: int | None) -> None:
        """Take the model's view of the sale; a warmth outside 0-100 is clamped."""
        if stage is not None:
            self.stage = stage
        if warmth is not None:
            self.warmth = min(MAX_WARMTH, max(MIN_WARMTH, warmth))

    def record_usage(
        self, prompt_tokens: int, completion_tokens: int, cost_usd: float, cached_tokens: int = 0
    ) -> None:
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens
        self.cost_usd += cost_usd
        self.cached_tokens += cached_tokens

    def copy(self) -> Dialog:
        return replace(self)
