"""Initial schema.

The seed's accounts, dialogs and messages grown for the flows, plus do_not_contact, the
peer cache and operator settings.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

Frozen on purpose: it spells its types out instead of importing the models, so later model
changes never rewrite history. Constraint names follow the models' naming convention.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger()
NOW = sa.text("CURRENT_TIMESTAMP")
EMPTY = sa.text("''")


def moment() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def checked(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("session_string", sa.Text(), nullable=False),
        sa.Column(
            "status",
            checked("account_status", "active", "disabled", "limited", "banned", "logged_out"),
            server_default="active",
            nullable=False,
        ),
        sa.Column("last_used", moment(), nullable=True),
        sa.Column("daily_messages", sa.Integer(), server_default="0", nullable=False),
        sa.Column("quota_day", sa.Date(), nullable=True),
        sa.Column("limited_until", moment(), nullable=True),
        sa.Column("proxy", sa.Text(), nullable=True),
        sa.Column("created_at", moment(), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("phone", name="uq_accounts_phone"),
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_settings"),
    )
    op.create_table(
        "dialogs",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("target_username", sa.String(64), nullable=False),
        sa.Column(
            "status",
            checked(
                "dialog_status", "active", "paused", "stopped", "finished", "opted_out", "failed"
            ),
            server_default="active",
            nullable=False,
        ),
        sa.Column("created_at", moment(), server_default=NOW, nullable=False),
        sa.Column("target_user_id", sa.BigInteger(), nullable=True),
        sa.Column("context", sa.Text(), server_default=EMPTY, nullable=False),
        sa.Column("last_activity_at", moment(), server_default=NOW, nullable=False),
        sa.Column(
            "stage",
            checked(
                "dialog_stage", "introduction", "qualification", "value", "objections", "close"
            ),
            server_default="introduction",
            nullable=False,
        ),
        sa.Column("warmth", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "outcome",
            checked("dialog_outcome", "continue", "goal", "handoff", "opt_out"),
            server_default="continue",
            nullable=False,
        ),
        sa.Column("summary", sa.Text(), server_default=EMPTY, nullable=False),
        sa.Column("status_reason", sa.Text(), server_default=EMPTY, nullable=False),
        sa.Column("follow_ups_sent", sa.Integer(), server_default="0", nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cost_usd", sa.Float(), server_default="0", nullable=False),
        sa.CheckConstraint("warmth BETWEEN 0 AND 100", name="ck_dialogs_warmth_range"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_dialogs_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_dialogs"),
    )
    op.create_index(
        "ix_dialogs_account_id_target_user_id", "dialogs", ["account_id", "target_user_id"]
    )
    op.create_index("ix_dialogs_last_activity_at_id", "dialogs", ["last_activity_at", "id"])
    open_dialog = sa.text("status IN ('active', 'paused')")
    op.create_index(
        "uq_dialogs_open_target_username",
        "dialogs",
        ["target_username"],
        unique=True,
        postgresql_where=open_dialog,
    )
    op.create_table(
        "peers",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("access_hash", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_peers_account_id_accounts"),
        sa.PrimaryKeyConstraint("account_id", "username", name="pk_peers"),
    )
    op.create_index("ix_peers_account_id_user_id", "peers", ["account_id", "user_id"])
    op.create_table(
        "do_not_contact",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), server_default=EMPTY, nullable=False),
        sa.Column("created_at", moment(), server_default=NOW, nullable=False),
        sa.Column("dialog_id", ID, nullable=True),
        sa.CheckConstraint(
            "username IS NOT NULL OR user_id IS NOT NULL", name="ck_do_not_contact_who"
        ),
        sa.ForeignKeyConstraint(
            ["dialog_id"], ["dialogs.id"], name="fk_do_not_contact_dialog_id_dialogs"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_do_not_contact"),
        sa.UniqueConstraint("user_id", name="uq_do_not_contact_user_id"),
        sa.UniqueConstraint("username", name="uq_do_not_contact_username"),
    )
    op.create_table(
        "messages",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("dialog_id", ID, nullable=False),
        sa.Column("direction", checked("message_direction", "in", "out"), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("timestamp", moment(), nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "delivery",
            checked("message_delivery", "pending", "sending", "sent", "failed", "cancelled"),
            nullable=True,
        ),
        sa.Column(
            "kind",
            checked("message_kind", "opener", "reply", "follow_up", "manual"),
            nullable=True,
        ),
        sa.Column("send_after", moment(), nullable=True),
        sa.Column("sent_at", moment(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), server_default=EMPTY, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_messages_account_id_accounts"
        ),
        sa.ForeignKeyConstraint(["dialog_id"], ["dialogs.id"], name="fk_messages_dialog_id_dialogs"),
        sa.PrimaryKeyConstraint("id", name="pk_messages"),
        sa.UniqueConstraint(
            "account_id",
            "telegram_message_id",
            name="uq_messages_account_id_telegram_message_id",
        ),
    )
    op.create_index(
        "ix_messages_dialog_id_timestamp_id", "messages", ["dialog_id", "timestamp", "id"]
    )
    pending = sa.text("delivery = 'pending'")
    op.create_index(
        "ix_messages_outbox",
        "messages",
        ["account_id", "send_after"],
        postgresql_where=pending,
    )
    sending = sa.text("delivery = 'sending'")
    op.create_index(
        "ix_messages_sending",
        "messages",
        ["account_id"],
        postgresql_where=sending,
    )


def downgrade() -> None:
    # Dropping a table drops its indexes and constraints with it.
    for table in ("messages", "do_not_contact", "peers", "dialogs", "settings", "accounts"):
        op.drop_table(table)
