"""dialogs.context is named for what it holds: the operator's notes about the lead.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("dialogs", "context", new_column_name="notes")


def downgrade() -> None:
    op.alter_column("dialogs", "notes", new_column_name="context")
