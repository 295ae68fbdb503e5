"""Indexes for the outbox claim: it costs the same however many messages are due.

- ix_messages_outbox_order: an account's pending messages in the claim's order (priority,
  then due time, then id); the claim reads from the front and stops at the first message
  it may send instead of sorting every due one.
- ix_messages_unsent_by_dialog: a dialog's pending and sending messages, for the claim's
  "no older message of the same dialog is still unsent" check, which otherwise walked the
  dialog's whole history for every due message.

With 750 messages due for one account (a campaign of openers) a claim took ~6 ms, planned
again at every execution; with these (and its constants spelled out), ~0.3 ms, planned once
per connection (bench/outbox_claim.py, 400,000 messages).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

Frozen on purpose: the priority expression is spelled out here, not imported (it must
stay what `models.outbox_priority` renders, or the claim stops using the index).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PRIORITY = "CASE WHEN kind = 'opener' THEN 2 WHEN kind = 'follow_up' THEN 1 ELSE 0 END"


def upgrade() -> None:
    pending = sa.text("delivery = 'pending'")
    op.create_index(
        "ix_messages_outbox_order",
        "messages",
        ["account_id", sa.text(f"({PRIORITY})"), "send_after", "id"],
        postgresql_where=pending,
    )
    unsent = sa.text("delivery IN ('pending', 'sending')")
    op.create_index(
        "ix_messages_unsent_by_dialog",
        "messages",
        ["dialog_id", "id"],
        postgresql_where=unsent,
    )


def downgrade() -> None:
    op.drop_index("ix_messages_unsent_by_dialog", table_name="messages")
    op.drop_index("ix_messages_outbox_order", table_name="messages")
