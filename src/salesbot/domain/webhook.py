"""What the CRM webhook tells: one event per fact of a dialog, and how long a failed
delivery waits before the next try.

The events are made by the database (a trigger on `dialogs`, revision 0017) in the same
transaction as the change, so none is lost; `facts_to_events` is the same rule in Python,
for the in-memory store of the tests and as the rule's readable statement.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from salesbot.domain.dialog import Dialog


class EventKind(str, enum.Enum):
    DIALOG_STARTED = "dialog_started"
    FIRST_REPLY = "first_reply"
    GOAL = "goal"
    HANDOFF = "handoff"
    REJECTED = "rejected"
    """The outcome became rejected or not_qualified (the payload's outcome says which)."""
    OPTED_OUT = "opted_out"
    FAILED = "failed"


LOST = ("rejected", "not_qualified")


@dataclass(frozen=True)
class DialogFacts:
    """What the rule reads of a dialog: its status, outcome and how many messages the
    prospect sent."""

    status: str = "active"
    outcome: str = "continue"
    messages_received: int = 0


def facts_to_events(before: DialogFacts | None, after: DialogFacts) -> list[EventKind]:
    """The events a change of a dialog makes, in this order; `before` is None for a new one.

    - new → dialog_started;
    - messages_received from 0 to more → first_reply;
    - outcome becomes goal → goal, handoff → handoff, rejected or not_qualified (from
      neither) → rejected;
    - the first sign of an opt-out (status opted_out or outcome opt_out) → opted_out, once;
    - status becomes failed → failed.
    """
    kinds: list[EventKind] = []
    was = before or DialogFacts()
    if before is None:
        kinds.append(EventKind.DIALOG_STARTED)
    if was.messages_received == 0 and after.messages_received > 0:
        kinds.append(EventKind.FIRST_REPLY)
    if after.outcome != was.outcome:
        if after.outcome == "goal":
            kinds.append(EventKind.GOAL)
        elif after.outcome == "handoff":
            kinds.append(EventKind.HANDOFF)
        elif after.outcome in LOST and was.outcome not in LOST:
            kinds.append(EventKind.REJECTED)
    opted_out = after.status == "opted_out" or after.outcome == "opt_out"
    if opted_out and not (was.status == "opted_out" or was.outcome == "opt_out"):
        kinds.append(EventKind.OPTED_OUT)
    if after.status == "failed" and was.status != "failed":
        kinds.append(EventKind.FAILED)
    return kinds


@dataclass(frozen=True)
class WebhookEvent:
    """One queued event: `payload` is the dialog as it was right after the change."""

    id: int
    dialog_id: int
    kind: EventKind
    payload: dict[str, Any]
    created_at: datetime
    attempts: int = 0
    next_attempt_at: datetime | None = None
    """None: never tried, due at once."""
    delivered_at: datetime | None = None
    last_error: str = ""

    def body(self) -> dict[str, Any]:
        """What the receiver gets, as JSON."""
        return {
            "id": self.id,
            "type": self.kind.value,
            "occurred_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "dialog": self.payload,
        }


FIRST_RETRY_SECONDS = 10.0
MAX_RETRY_SECONDS = 3600.0


def retry_delay(attempts: int, jitter: float) -> float:
    """Seconds before the next try after `attempts` failed ones: exponential from 10 s,
    capped at an hour, with "equal jitter" — half of the step fixed, the other half
    scaled by `jitter` in [0, 1) — so many events never retry in step."""
    step: float = min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2.0 ** max(0, attempts - 1))
    return step / 2 + step / 2 * min(max(jitter, 0.0), 1.0)


def dialog_payload(dialog: Dialog) -> dict[str, Any]:
    """The dialog as an event carries it (the trigger builds the same object in SQL)."""
    return {
        "id": dialog.id,
        "username": dialog.target_username,
        "user_id": dialog.target_user_id,
        "account_id": dialog.account_id,
        "campaign_id": dialog.campaign_id,
        "variant": dialog.variant,
        "status": dialog.status.value,
        "outcome": dialog.outcome.value,
        "stage": dialog.stage.value,
        "warmth": dialog.warmth,
        "summary": dialog.summary,
    }
