"""dialogs.cached_tokens: how many of a dialog's prompt tokens the provider read from its
prompt cache (OpenRouter's usage.prompt_tokens_details.cached_tokens), for /view and /stats.

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "dialogs",
        sa.Column("cached_tokens", sa.BigInteger(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("dialogs", "cached_tokens")
