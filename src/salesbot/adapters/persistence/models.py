"""The schema, as SQLAlchemy 2 ORM models, and the explicit mapping to and from the domain.

alembic owns the schema (`alembic/versions`); these models are what the migrations must
produce (a test compares them). The repositories run Core statements against the models'
tables and build the domain dataclasses themselves: no ORM object ever leaves this package.

The seed's three tables keep their names and columns (`accounts`, `dialogs`, `messages`);
everything else grew around them: `BigInteger` ids, aware-UTC datetimes, enums stored as
checked strings (no native enum type: adding a value stays a plain migration),
`CURRENT_TIMESTAMP` server defaults.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timezone
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    case,
    false,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Row
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from salesbot.domain.account import Account, AccountStatus
from salesbot.domain.campaign import Campaign, CampaignStatus, Lead, LeadStatus
from salesbot.domain.dialog import OPEN_STATUSES, Dialog, DialogStatus, Outcome, Stage
from salesbot.domain.do_not_contact import DoNotContact
from salesbot.domain.media import Media, MediaKind
from salesbot.domain.message import Delivery, Direction, Message, OutKind
from salesbot.domain.peer import Peer
from salesbot.domain.webhook import EventKind, WebhookEvent

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Id = BigInteger()
NOW = text("CURRENT_TIMESTAMP")
EMPTY = text("''")


class UtcDateTime(TypeDecorator[datetime]):
    """`TIMESTAMP WITH TIME ZONE` that only takes and only gives aware UTC datetimes: a naive
    one is refused (it would be read in the server's time zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: salesbot stores aware UTC times only")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.astimezone(timezone.utc)


def _values(enum_class: type[enum.Enum]) -> list[str]:
    return [member.value for member in enum_class]


PENDING = "delivery = 'pending'"
UNSENT = "delivery IN ('pending', 'sending')"


def _enum(enum_class: type[enum.Enum], name: str) -> Enum:
    """A string column checked against the enum's values (no native PostgreSQL enum type:
    adding a value stays a plain migration)."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=_values,
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class AccountRow(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    phone: Mapped[str] = mapped_column(String(32), unique=True)
    # Fernet ciphertext of the Pyrogram session string (key derived from SESSION_SECRET).
    session_string: Mapped[str] = mapped_column(Text)
    status: Mapped[AccountStatus] = mapped_column(
        _enum(AccountStatus, "account_status"), server_default=AccountStatus.ACTIVE.value
    )
    last_used: Mapped[datetime | None] = mapped_column(UtcDateTime)
    daily_messages: Mapped[int] = mapped_column(Integer, server_default="0")
    quota_day: Mapped[date | None] = mapped_column(Date)
    limited_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    proxy: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=NOW)
    flood_wait_until: Mapped[datetime | None] = mapped_column(UtcDateTime)


class DialogRow(Base):
    __tablename__ = "dialogs"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(Id, ForeignKey("accounts.id"))
    target_username: Mapped[str] = mapped_column(String(64))
    status: Mapped[DialogStatus] = mapped_column(
        _enum(DialogStatus, "dialog_status"), server_default=DialogStatus.ACTIVE.value
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=NOW)
    target_user_id: Mapped[int | None] = mapped_column(BigInteger)
    notes: Mapped[str] = mapped_column(Text, server_default=EMPTY)
    last_activity_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=NOW)
    stage: Mapped[Stage] = mapped_column(
        _enum(Stage, "dialog_stage"), server_default=Stage.INTRODUCTION.value
    )
    warmth: Mapped[int] = mapped_column(Integer, server_default="0")
    outcome: Mapped[Outcome] = mapped_column(
        _enum(Outcome, "dialog_outcome"), server_default=Outcome.CONTINUE.value
    )
    summary: Mapped[str] = mapped_column(Text, server_default=EMPTY)
    status_reason: Mapped[str] = mapped_column(Text, server_default=EMPTY)
    follow_ups_sent: Mapped[int] = mapped_column(Integer, server_default="0")
    prompt_tokens: Mapped[int] = mapped_column(BigInteger, server_default="0")
    completion_tokens: Mapped[int] = mapped_column(BigInteger, server_default="0")
    cached_tokens: Mapped[int] = mapped_column(BigInteger, server_default="0")  # revision 0012
    cost_usd: Mapped[float] = mapped_column(Float, server_default="0")
    review: Mapped[bool | None] = mapped_column(Boolean)  # /review N on|off, revision 0015
    # The campaign that started it and its opener variant (an index into the campaign's
    # variants), revision 0016; NULL for a dialog begun by /start.
    campaign_id: Mapped[int | None] = mapped_column(Id, ForeignKey("campaigns.id"))
    variant: Mapped[int | None] = mapped_column(Integer)
    # What was said in the dialog, kept by the database's triggers on `messages` (revision
    # 0006): /stats of all time sums these instead of reading every message. Not part of
    # the domain's Dialog: no dialog update writes them.
    messages_sent: Mapped[int] = mapped_column(Integer, server_default="0")
    openers_sent: Mapped[int] = mapped_column(Integer, server_default="0")
    messages_received: Mapped[int] = mapped_column(Integer, server_default="0")

    __table_args__ = (
        CheckConstraint("warmth BETWEEN 0 AND 100", name="warmth_range"),
        # One open dialog per prospect, whichever account holds it.
        Index(
            "uq_dialogs_open_target_username",
            "target_username",
            unique=True,
            postgresql_where=text("status IN ('active', 'paused')"),
        ),
        # An incoming message finds its dialog by (account, Telegram user).
        Index(None, "account_id", "target_user_id"),
        # The admin's list: newest activity first.
        Index(None, "last_activity_at", "id"),
        # ... of the open dialogs only (/list), and the dialogs per status (/stats).
        Index(
            "ix_dialogs_open_activity",
            "last_activity_at",
            "id",
            postgresql_where=text("status IN ('active', 'paused')"),
        ),
        Index(None, "status"),
        # A campaign's funnel (/campaign N) and its export.
        Index(None, "campaign_id", postgresql_where=text("campaign_id IS NOT NULL")),
    )


class CampaignRow(Base):
    """A lead list started as paced dialogs (revision 0016)."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    script: Mapped[str] = mapped_column(Text, server_default=EMPTY)
    variants: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[CampaignStatus] = mapped_column(
        _enum(CampaignStatus, "campaign_status"), server_default=CampaignStatus.ACTIVE.value
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=NOW)


class CampaignLeadRow(Base):
    """One lead of a campaign: queued until the feeder starts its dialog (revision 0016)."""

    __tablename__ = "campaign_leads"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(Id, ForeignKey("campaigns.id"))
    position: Mapped[int] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(64))
    fields: Mapped[dict[str, str]] = mapped_column(JSON)
    status: Mapped[LeadStatus] = mapped_column(
        _enum(LeadStatus, "lead_status"), server_default=LeadStatus.QUEUED.value
    )
    variant: Mapped[int | None] = mapped_column(Integer)
    dialog_id: Mapped[int | None] = mapped_column(Id, ForeignKey("dialogs.id"))
    reason: Mapped[str] = mapped_column(Text, server_default=EMPTY)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        # A lead appears once in its campaign.
        UniqueConstraint("campaign_id", "username"),
        # The feeder's next lead: the first queued one of a campaign, in the file's order.
        Index(
            "ix_campaign_leads_queued",
            "campaign_id",
            "position",
            postgresql_where=text("status = 'queued'"),
        ),
        # The funnel counts per status.
        Index(None, "campaign_id", "status"),
    )


class MessageRow(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    dialog_id: Mapped[int] = mapped_column(Id, ForeignKey("dialogs.id"))
    direction: Mapped[Direction] = mapped_column(_enum(Direction, "message_direction"))
    content: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime)
    account_id: Mapped[int] = mapped_column(Id, ForeignKey("accounts.id"))
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    delivery: Mapped[Delivery | None] = mapped_column(_enum(Delivery, "message_delivery"))
    kind: Mapped[OutKind | None] = mapped_column(_enum(OutKind, "message_kind"))
    send_after: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    error: Mapped[str] = mapped_column(Text, server_default=EMPTY)
    last_word: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # A voice note, photo, file...: its kind, and what Telegram said of it (Media.to_record:
    # the file reference, duration, file name, any transcript). `content` holds its tag.
    media_kind: Mapped[MediaKind | None] = mapped_column(_enum(MediaKind, "message_media_kind"))
    media: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))

    __table_args__ = (
        # Telegram may deliver one message twice: it is stored once.
        UniqueConstraint("account_id", "telegram_message_id"),
        # A dialog's history, in order.
        Index(None, "dialog_id", "timestamp", "id"),
        # The outbox: only pending rows, per account by due time.
        Index(
            "ix_messages_outbox",
            "account_id",
            "send_after",
            postgresql_where=text("delivery = 'pending'"),
        ),
        # The claim's "no older message of this dialog is still unsent": the dialog's
        # pending and sending rows only, not its whole history.
        Index(
            "ix_messages_unsent_by_dialog",
            "dialog_id",
            "id",
            postgresql_where=text(UNSENT),
        ),
        # Messages a crash may have left half-sent, for the start-up reconciliation.
        Index(
            "ix_messages_sending",
            "account_id",
            postgresql_where=text("delivery = 'sending'"),
        ),
        # /stats of today: received by timestamp, sent by sent_at.
        Index(None, "timestamp"),
        Index(
            "ix_messages_sent_sent_at",
            "sent_at",
            postgresql_where=text("delivery = 'sent'"),
        ),
    )


def spelled(value: str | int) -> Any:
    """`value` written into the SQL instead of bound. A statement that names a partial
    index's predicate (`delivery = 'pending'`) or an indexed expression this way can use
    the index in the plan PostgreSQL keeps for a prepared statement; with the value bound,
    it plans the statement again at every execution."""
    if isinstance(value, int):
        return literal_column(str(int(value)), Integer())
    assert value.isidentifier(), value  # our own enum values, never outside input
    return literal_column(f"'{value}'", String())


def outbox_priority(kind: Any) -> Any:
    """The claim's order among due messages (OutKind.priority), as SQL on `kind`."""
    return case(
        (kind == spelled(OutKind.OPENER.value), spelled(OutKind.OPENER.priority)),
        (kind == spelled(OutKind.FOLLOW_UP.value), spelled(OutKind.FOLLOW_UP.priority)),
        else_=spelled(OutKind.REPLY.priority),
    )


# The outbox in the claim's order, per account: the claim reads due messages from the
# front and stops at the first it may send, instead of sorting every due message. The
# expression is `outbox_priority(kind)` as PostgreSQL prints it back (so that alembic's
# comparison of the models with the database sees no difference); the planner compares
# meanings, and tests/adapters/persistence/test_claim_plan.py checks the claim uses it.
OUTBOX_PRIORITY_SQL = (
    "\nCASE\n    WHEN kind = 'opener' THEN 2\n    WHEN kind = 'follow_up' THEN 1\n    ELSE 0\nEND"
)
Index(
    "ix_messages_outbox_order",
    MessageRow.__table__.c.account_id,
    text(f"({OUTBOX_PRIORITY_SQL})"),
    MessageRow.__table__.c.send_after,
    MessageRow.__table__.c.id,
    postgresql_where=text(PENDING),
)


class DoNotContactRow(Base):
    __tablename__ = "do_not_contact"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    reason: Mapped[str] = mapped_column(Text, server_default=EMPTY)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=NOW)
    dialog_id: Mapped[int | None] = mapped_column(Id, ForeignKey("dialogs.id"))

    __table_args__ = (CheckConstraint("username IS NOT NULL OR user_id IS NOT NULL", name="who"),)


class PeerRow(Base):
    """What an account resolved: resolving a username again risks hours of FloodWait."""

    __tablename__ = "peers"

    account_id: Mapped[int] = mapped_column(Id, ForeignKey("accounts.id"), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    access_hash: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index(None, "account_id", "user_id"),)


class UpdateStateRow(Base):
    """Where each account's Telegram updates were handled up to: the next start asks
    Telegram for what came after (getDifference) instead of losing it."""

    __tablename__ = "telegram_update_states"

    account_id: Mapped[int] = mapped_column(Id, ForeignKey("accounts.id"), primary_key=True)
    pts: Mapped[int] = mapped_column(BigInteger)
    qts: Mapped[int] = mapped_column(BigInteger)
    date: Mapped[int] = mapped_column(BigInteger)
    seq: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=NOW)


ADMIN_UPDATE_STATES = ("received", "started", "done")


class AdminUpdateRow(Base):
    """The admin bot's updates, recorded before Telegram is told they arrived (the next
    getUpdates): a crash between the two loses no command, and one that was running is
    not run twice. The payload is the update as Telegram sent it, dropped once done."""

    __tablename__ = "admin_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[Any] = mapped_column(JSON, nullable=True)
    state: Mapped[str] = mapped_column(
        Enum(
            *ADMIN_UPDATE_STATES,
            name="admin_update_state",
            native_enum=False,
            create_constraint=True,
            length=16,
        )
    )
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class SettingRow(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class WebhookEventRow(Base):
    """The CRM webhook's queue (revision 0017): written by the trigger on `dialogs` while
    the `settings` row `webhook.enabled` exists, read and marked by the deliverer."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    dialog_id: Mapped[int] = mapped_column(Id, ForeignKey("dialogs.id"))
    kind: Mapped[EventKind] = mapped_column(_enum(EventKind, "webhook_event_kind"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=NOW)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str] = mapped_column(Text, server_default=EMPTY)

    __table_args__ = (
        # The deliverer's "no earlier undelivered event of this dialog", and its scan.
        Index(
            "ix_webhook_events_undelivered",
            "dialog_id",
            "id",
            postgresql_where=text("delivered_at IS NULL"),
        ),
        # The pruning of delivered events.
        Index(
            "ix_webhook_events_delivered_at",
            "delivered_at",
            postgresql_where=text("delivered_at IS NOT NULL"),
        ),
    )


ACCOUNT_CALL_STATUSES = ("queued", "running", "done", "failed", "abandoned")


class AccountCallRow(Base):
    """Calls one process asks of another's Telegram client (revision 0018): written by the
    caller, claimed and answered by the account's owner (`adapters/persistence/
    account_calls.py`)."""

    __tablename__ = "account_calls"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(Id, ForeignKey("accounts.id", ondelete="CASCADE"))
    call: Mapped[str] = mapped_column(Text)
    args: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(
        Enum(
            *ACCOUNT_CALL_STATUSES,
            name="account_call_status",
            native_enum=False,
            create_constraint=True,
            length=16,
        ),
        server_default="queued",
    )
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    taken_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=NOW)
    taken_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        # The owner's claim: the open calls of the accounts it runs, oldest first.
        Index(
            "ix_account_calls_open",
            "account_id",
            "id",
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )


# The tables the repositories' Core statements run on (a mapped class's `__table__` is typed
# as any FromClause).
accounts = cast(Table, AccountRow.__table__)
dialogs = cast(Table, DialogRow.__table__)
messages = cast(Table, MessageRow.__table__)
do_not_contact = cast(Table, DoNotContactRow.__table__)
peers = cast(Table, PeerRow.__table__)
settings = cast(Table, SettingRow.__table__)
update_states = cast(Table, UpdateStateRow.__table__)
admin_updates = cast(Table, AdminUpdateRow.__table__)
campaigns = cast(Table, CampaignRow.__table__)
campaign_leads = cast(Table, CampaignLeadRow.__table__)
webhook_events = cast(Table, WebhookEventRow.__table__)
account_calls = cast(Table, AccountCallRow.__table__)

OPEN_DIALOG_STATUSES = tuple(sorted(s.value for s in OPEN_STATUSES))


# --- mapping ----------------------------------------------------------------------------
# Rows come from Core statements selecting a table's columns; values go into insert/update.


def account_from_row(row: Row[Any], session_string: str, proxy: str | None) -> Account:
    return Account(
        id=row.id,
        phone=row.phone,
        session_string=session_string,
        status=row.status,
        limited_until=row.limited_until,
        last_used=row.last_used,
        daily_messages=row.daily_messages,
        quota_day=row.quota_day,
        proxy=proxy,
        created_at=row.created_at,
        flood_wait_until=row.flood_wait_until,
    )


def account_values(
    account: Account, encrypted_session: str, encrypted_proxy: str | None
) -> dict[str, Any]:
    """The columns `AccountRepository.update` writes (the quota counters are not among them)."""
    return {
        "status": account.status,
        "limited_until": account.limited_until,
        "flood_wait_until": account.flood_wait_until,
        "session_string": encrypted_session,
        "proxy": encrypted_proxy,
    }


def new_account_values(
    account: Account, encrypted_session: str, encrypted_proxy: str | None
) -> dict[str, Any]:
    values = {
        **account_values(account, encrypted_session, encrypted_proxy),
        "phone": account.phone,
        "last_used": account.last_used,
        "daily_messages": account.daily_messages,
        "quota_day": account.quota_day,
    }
    if account.created_at is not None:
        values["created_at"] = account.created_at
    return values


def dialog_from_row(row: Any) -> Dialog:
    """A dialog from a row of `dialogs` (or anything with its columns as attributes)."""
    return Dialog(
        id=row.id,
        account_id=row.account_id,
        target_username=row.target_username,
        status=row.status,
        target_user_id=row.target_user_id,
        notes=row.notes,
        created_at=row.created_at,
        last_activity_at=row.last_activity_at,
        stage=row.stage,
        warmth=row.warmth,
        outcome=row.outcome,
        summary=row.summary,
        status_reason=row.status_reason,
        follow_ups_sent=row.follow_ups_sent,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        cached_tokens=row.cached_tokens,
        cost_usd=row.cost_usd,
        review=row.review,
        campaign_id=row.campaign_id,
        variant=row.variant,
    )


def dialog_values(dialog: Dialog) -> dict[str, Any]:
    """Every column an update may change: all but the id, the account and created_at."""
    return {
        "target_username": dialog.target_username,
        "status": dialog.status,
        "target_user_id": dialog.target_user_id,
        "notes": dialog.notes,
        "last_activity_at": dialog.last_activity_at,
        "stage": dialog.stage,
        "warmth": dialog.warmth,
        "outcome": dialog.outcome,
        "summary": dialog.summary,
        "status_reason": dialog.status_reason,
        "follow_ups_sent": dialog.follow_ups_sent,
        "prompt_tokens": dialog.prompt_tokens,
        "completion_tokens": dialog.completion_tokens,
        "cached_tokens": dialog.cached_tokens,
        "cost_usd": dialog.cost_usd,
        "review": dialog.review,
        "campaign_id": dialog.campaign_id,
        "variant": dialog.variant,
    }


def message_from_row(row: Row[Any]) -> Message:
    return Message(
        id=row.id,
        dialog_id=row.dialog_id,
        account_id=row.account_id,
        direction=row.direction,
        content=row.content,
        timestamp=row.timestamp,
        telegram_message_id=row.telegram_message_id,
        delivery=row.delivery,
        kind=row.kind,
        send_after=row.send_after,
        sent_at=row.sent_at,
        attempts=row.attempts,
        error=row.error,
        last_word=row.last_word,
        media=Media.from_record(row.media) if row.media else None,
    )


def message_values(message: Message) -> dict[str, Any]:
    """Every column an update may change: all but the id, the dialog, the account and the
    direction, which a message keeps for life."""
    return {
        "content": message.content,
        "timestamp": message.timestamp,
        "telegram_message_id": message.telegram_message_id,
        "delivery": message.delivery,
        "kind": message.kind,
        "send_after": message.send_after,
        "sent_at": message.sent_at,
        "attempts": message.attempts,
        "error": message.error,
        "last_word": message.last_word,
        "media_kind": message.media.kind if message.media else None,
        "media": message.media.to_record() if message.media else None,
    }


def new_message_values(message: Message) -> dict[str, Any]:
    return {
        **message_values(message),
        "dialog_id": message.dialog_id,
        "account_id": message.account_id,
        "direction": message.direction,
    }


def do_not_contact_values(entry: DoNotContact) -> dict[str, Any]:
    return {
        "username": entry.username,
        "user_id": entry.user_id,
        "reason": entry.reason,
        "created_at": entry.created_at,
        "dialog_id": entry.dialog_id,
    }


def peer_from_row(row: Row[Any]) -> Peer:
    return Peer(
        account_id=row.account_id,
        username=row.username,
        user_id=row.user_id,
        access_hash=row.access_hash,
    )


def campaign_from_row(row: Any) -> Campaign:
    return Campaign(
        id=row.id,
        name=row.name,
        script=row.script,
        variants=tuple(row.variants or ()),
        status=row.status,
        created_at=row.created_at,
    )


def campaign_values(campaign: Campaign) -> dict[str, Any]:
    """Every column an update may change: all but the id and created_at."""
    return {
        "name": campaign.name,
        "script": campaign.script,
        "variants": list(campaign.variants),
        "status": campaign.status,
    }


def lead_from_row(row: Any) -> Lead:
    return Lead(
        id=row.id,
        campaign_id=row.campaign_id,
        position=row.position,
        username=row.username,
        fields=dict(row.fields or {}),
        status=row.status,
        variant=row.variant,
        dialog_id=row.dialog_id,
        reason=row.reason,
        claimed_at=row.claimed_at,
    )


def lead_values(lead: Lead) -> dict[str, Any]:
    """Every column an update may change: all but the id, its campaign and position."""
    return {
        "username": lead.username,
        "fields": dict(lead.fields),
        "status": lead.status,
        "variant": lead.variant,
        "dialog_id": lead.dialog_id,
        "reason": lead.reason,
        "claimed_at": lead.claimed_at,
    }


def webhook_event_from_row(row: Any) -> WebhookEvent:
    return WebhookEvent(
        id=row.id,
        dialog_id=row.dialog_id,
        kind=row.kind,
        payload=dict(row.payload),
        created_at=row.created_at,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        delivered_at=row.delivered_at,
        last_error=row.last_error,
    )
