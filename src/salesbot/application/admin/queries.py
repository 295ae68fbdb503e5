"""What the operator reads, as query ports: answered in SQL by the persistence adapter
(tested on PostgreSQL), never by loading aggregates through the repositories.

The results are plain frozen rows, shaped for the page that shows them.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol

from salesbot.domain.dialog import DialogStatus, Outcome, Stage
from salesbot.domain.message import Delivery, Direction, Message, OutKind


@dataclass(frozen=True)
class DialogRow:
    """One line of /list."""

    dialog_id: int
    username: str
    user_id: int | None
    status: DialogStatus
    stage: Stage
    warmth: int
    account_id: int
    account_phone: str
    created_at: datetime | None
    last_activity_at: datetime | None
    outcome: Outcome = Outcome.CONTINUE


@dataclass(frozen=True)
class Spend:
    """What the model cost: prompt tokens (of them, read from the provider's cache),
    completion tokens, dollars as the provider reported them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0


@dataclass(frozen=True)
class DialogTranscript:
    """/view N: the dialog and everything said in it."""

    dialog: DialogRow
    notes: str
    summary: str
    status_reason: str
    messages: list[Message]
    """In order; cancelled outgoing messages (never sent to anyone) are left out."""
    spend: Spend = Spend()


class DialogViews(Protocol):
    async def count_open(self) -> int:
        """Active and paused dialogs."""
        ...

    async def open_dialogs(self, *, limit: int, offset: int) -> list[DialogRow]:
        """Active and paused dialogs, newest activity first (ties: higher number first)."""
        ...

    async def transcript(self, dialog_id: int) -> DialogTranscript | None: ...

    async def active_per_account(self) -> dict[int, int]:
        """How many active dialogs each account has (accounts with none left out)."""
        ...


@dataclass(frozen=True)
class AccountStats:
    account_id: int
    phone: str
    openers_sent: int
    messages_sent: int
    messages_received: int
    dialogs_replied: int
    goals: int
    opt_outs: int
    rejected: int = 0
    """Lost leads: the prospect declined (outcome rejected), and ..."""
    not_qualified: int = 0
    """... the prospect cannot be a customer (not_qualified)."""
    spend: Spend = Spend()
    """The model's cost of the account's dialogs, all time (dialogs keep their usage as
    totals, so a period has none)."""


@dataclass(frozen=True)
class AllTimeStats:
    per_account: list[AccountStats]
    dialogs_by_status: dict[DialogStatus, int]


@dataclass(frozen=True)
class DayCounts:
    """What happened in one day: messages sent, the prospects' messages received, goals
    reached (a dialog with the goal as its outcome counts on the day of its last activity:
    dialogs keep no moment of reaching it)."""

    sent: int = 0
    replies: int = 0
    goals: int = 0

    def __add__(self, other: DayCounts) -> DayCounts:
        return DayCounts(
            self.sent + other.sent, self.replies + other.replies, self.goals + other.goals
        )


@dataclass(frozen=True)
class AccountDays:
    """One account's counts, day by day."""

    account_id: int
    phone: str
    days: list[DayCounts]


class StatsQuery(Protocol):
    async def per_account(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[AccountStats]:
        """Counts per account of what happened at or after `since` and before `until`
        (either bound left out when None; all time when both are); every account, in id
        order."""
        ...

    async def all_time(self) -> AllTimeStats:
        """`per_account()` of all time, and how many dialogs have each status (every
        status, 0 when none), read in one pass."""
        ...

    async def per_day(self, bounds: Sequence[datetime]) -> list[AccountDays]:
        """Every account (in id order) with its counts in each of the days `bounds` cut:
        day i runs from `bounds[i]` (included) to `bounds[i + 1]`, so n + 1 bounds, in
        increasing order, give n days, each present (zeros when nothing happened). Sent
        messages count at `sent_at` (at `timestamp` when that is missing), as in
        `per_account`."""
        ...


@dataclass(frozen=True)
class TranscriptHeader:
    """What an exported transcript starts with."""

    dialog_id: int
    username: str
    user_id: int | None
    account_id: int
    account_phone: str
    status: DialogStatus
    stage: Stage
    warmth: int
    notes: str
    summary: str
    created_at: datetime | None
    last_activity_at: datetime | None
    outcome: Outcome = Outcome.CONTINUE


class ExportRow(NamedTuple):
    """What a transcript shows of a message: lighter than a Message to read by the million."""

    dialog_id: int
    direction: Direction
    content: str
    timestamp: datetime
    sent_at: datetime | None
    delivery: Delivery | None
    kind: OutKind | None


class ExportQuery(Protocol):
    async def header(self, dialog_id: int) -> TranscriptHeader | None: ...

    async def count(self) -> int:
        """How many dialogs there are: the total an export of them all shows progress of."""
        ...

    async def headers(self, *, after_id: int, limit: int) -> list[TranscriptHeader]:
        """At most `limit` dialogs with a number above `after_id`, in number order: every
        dialog, page after page, each page one query whatever the page before it."""
        ...

    def rows(
        self, *, first_dialog_id: int, last_dialog_id: int, batch_size: int = 1000
    ) -> AsyncGenerator[list[ExportRow], None]:
        """The messages of the dialogs numbered `first_dialog_id` to `last_dialog_id` (both
        included), ordered by dialog then (timestamp, id), in non-empty lists of at most
        `batch_size` (bounded memory however many there are). Closing the iterator early
        ends the read."""
        ...
