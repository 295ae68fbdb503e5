"""Campaigns: a lead list started as paced dialogs, each dialog knowing its campaign and
opener variant.

`campaigns` holds the list's name, its own script (empty: the global one) and its opener
variants; `campaign_leads` one row per lead (unique per campaign), queued until the feeder
starts it; `dialogs.campaign_id` and `dialogs.variant` say which campaign and variant a
dialog came from (NULL for `/start`).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _status(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("script", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("variants", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            _status("campaign_status", "active", "paused", "stopped"),
            server_default="active",
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.add_column("dialogs", sa.Column("campaign_id", sa.BigInteger(), nullable=True))
    op.add_column("dialogs", sa.Column("variant", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_dialogs_campaign_id_campaigns"), "dialogs", "campaigns", ["campaign_id"], ["id"]
    )
    op.create_index(
        op.f("ix_dialogs_campaign_id"),
        "dialogs",
        ["campaign_id"],
        postgresql_where=sa.text("campaign_id IS NOT NULL"),
    )
    op.create_table(
        "campaign_leads",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            _status("lead_status", "queued", "starting", "started", "skipped"),
            server_default="queued",
            nullable=False,
        ),
        sa.Column("variant", sa.Integer(), nullable=True),
        sa.Column("dialog_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_campaign_leads_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["dialog_id"], ["dialogs.id"], name=op.f("fk_campaign_leads_dialog_id_dialogs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_leads")),
        sa.UniqueConstraint(
            "campaign_id", "username", name=op.f("uq_campaign_leads_campaign_id_username")
        ),
    )
    op.create_index(
        "ix_campaign_leads_queued",
        "campaign_leads",
        ["campaign_id", "position"],
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.create_index(
        op.f("ix_campaign_leads_campaign_id_status"), "campaign_leads", ["campaign_id", "status"]
    )


def downgrade() -> None:
    op.drop_table("campaign_leads")
    op.drop_index(op.f("ix_dialogs_campaign_id"), table_name="dialogs")
    op.drop_constraint(op.f("fk_dialogs_campaign_id_campaigns"), "dialogs", type_="foreignkey")
    op.drop_column("dialogs", "variant")
    op.drop_column("dialogs", "campaign_id")
    op.drop_table("campaigns")
