"""Review mode: messages.delivery may be 'draft' (the AI's message waits for the admin's
approval; nothing claims or counts it) or 'discarded' (the admin threw it away, kept for
the record); dialogs.review holds `/review N on|off` (NULL: the dialog follows
REVIEW_MODE).

The delivery column is a string checked by a constraint (no native enum type), so adding
values is recreating that constraint. Downgrading refuses while a message holds a new value.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONSTRAINT = "ck_messages_message_delivery"
BEFORE = ("pending", "sending", "sent", "failed", "cancelled")
AFTER = ("draft", *BEFORE, "discarded")


def _check(values: tuple[str, ...]) -> str:
    return "delivery IN (" + ", ".join(f"'{value}'" for value in values) + ")"


def upgrade() -> None:
    op.drop_constraint(op.f(CONSTRAINT), "messages", type_="check")
    op.create_check_constraint(op.f(CONSTRAINT), "messages", _check(AFTER))
    op.add_column("dialogs", sa.Column("review", sa.Boolean(), nullable=True))


def downgrade() -> None:
    op.drop_column("dialogs", "review")
    op.drop_constraint(op.f(CONSTRAINT), "messages", type_="check")
    op.create_check_constraint(op.f(CONSTRAINT), "messages", _check(BEFORE))
