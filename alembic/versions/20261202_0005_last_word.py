"""messages.last_word: the AI's last words as it steps aside still go.

A reached goal or a hand-off pauses the dialog in the same write that queues the AI's
confirmation to the prospect; the dispatcher sends nothing else of the AI in a paused
dialog, and so it cancelled the confirmation too. The message now says it is that
confirmation, and the dispatcher lets it go.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "messages",
        sa.Column("last_word", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("messages", "last_word")
