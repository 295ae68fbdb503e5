"""Messages of a dialog: what the prospect wrote (`in`) and what we write (`out`)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

from salesbot.domain.media import Media


class Direction(str, enum.Enum):
    IN = "in"
    OUT = "out"


class Delivery(str, enum.Enum):
    """Where an outgoing message is on its way to Telegram.

    `sending` is written before the network call: a message found in it after a crash is
    checked against the chat, never sent blindly again. `cancelled` marks a reply that a
    newer incoming message made obsolete before it went out (a draft too: it is superseded).

    In review mode the AI's message is first a `draft`: the dispatcher never claims it and
    no counter counts it until the admin approves it (it turns `pending`); one the admin
    throws away (Discard, or Regenerate's old text) is `discarded`, kept for the record.
    """

    DRAFT = "draft"
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    DISCARDED = "discarded"


class OutKind(str, enum.Enum):
    """Why an outgoing message exists; replies to a live conversation go before cold openers."""

    OPENER = "opener"
    REPLY = "reply"
    FOLLOW_UP = "follow_up"
    MANUAL = "manual"

    @property
    def priority(self) -> int:
        """Lower goes first when quota is scarce."""
        return _PRIORITY[self]

    @property
    def is_cold(self) -> bool:
        """Written first, not an answer: goes only within the working hours and days."""
        return self in COLD_KINDS


_PRIORITY = {OutKind.MANUAL: 0, OutKind.REPLY: 0, OutKind.FOLLOW_UP: 1, OutKind.OPENER: 2}
COLD_KINDS = frozenset({OutKind.OPENER, OutKind.FOLLOW_UP})


@dataclass
class Message:
    dialog_id: int
    direction: Direction
    content: str
    timestamp: datetime
    id: int | None = None
    account_id: int | None = None
    telegram_message_id: int | None = None
    delivery: Delivery | None = None
    kind: OutKind | None = None
    send_after: datetime | None = None
    sent_at: datetime | None = None
    attempts: int = 0
    error: str = ""
    last_word: bool = False
    """The AI's last words as it steps aside (the confirmation of a reached goal or a
    hand-off), queued in the same write that paused its dialog: they still go, once;
    anything the AI would write after them does not."""
    media: Media | None = None
    """A received voice note, photo, file...: what Telegram said about it. `content` then
    holds its bracketed description (`media.content`), which is what everyone reads."""

    @classmethod
    def incoming(
        cls,
        dialog_id: int,
        account_id: int,
        content: str,
        timestamp: datetime,
        telegram_message_id: int,
        *,
        media: Media | None = None,
    ) -> Message:
        return cls(
            dialog_id=dialog_id,
            account_id=account_id,
            direction=Direction.IN,
            content=content,
            timestamp=timestamp,
            telegram_message_id=telegram_message_id,
            media=media,
        )

    @classmethod
    def written_in_app(
        cls,
        dialog_id: int,
        account_id: int,
        content: str,
        timestamp: datetime,
        telegram_message_id: int,
        *,
        media: Media | None = None,
    ) -> Message:
        """A message a person sent from the account in the Telegram app: it is in the chat
        already, so it is stored as the operator's, sent."""
        return cls(
            dialog_id=dialog_id,
            account_id=account_id,
            direction=Direction.OUT,
            content=content,
            timestamp=timestamp,
            telegram_message_id=telegram_message_id,
            delivery=Delivery.SENT,
            kind=OutKind.MANUAL,
            send_after=timestamp,
            sent_at=timestamp,
            media=media,
        )

    @classmethod
    def outgoing(
        cls,
        dialog_id: int,
        account_id: int,
        content: str,
        now: datetime,
        kind: OutKind,
        send_after: datetime | None = None,
        *,
        last_word: bool = False,
    ) -> Message:
        return cls(
            dialog_id=dialog_id,
            account_id=account_id,
            direction=Direction.OUT,
            content=content,
            timestamp=now,
            delivery=Delivery.PENDING,
            kind=kind,
            send_after=send_after or now,
            last_word=last_word,
        )

    def is_sent_as(self, text: str) -> bool:
        """Whether a message Telegram shows with `text` is this one (Telegram trims what is
        sent, nothing else)."""
        return self.content.strip() == text.strip()

    @property
    def is_pending(self) -> bool:
        return self.delivery is Delivery.PENDING

    @property
    def is_draft(self) -> bool:
        return self.delivery is Delivery.DRAFT

    def as_draft(self) -> Message:
        """This outgoing message held for the admin's approval instead of queued."""
        return replace(self, delivery=Delivery.DRAFT)

    def copy(self) -> Message:
        return replace(self)
