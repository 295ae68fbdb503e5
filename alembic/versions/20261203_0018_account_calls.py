"""Account calls: `account_calls`, the queue through which a process asks the owner of an
account to use that account's Telegram client (issue 19).

A Telegram session runs in one process only (its advisory lock), yet any process may take
an admin command that needs a particular account's client: `/start` resolves a username
through it, `/check_account` asks @SpamBot from it. The caller writes a row here and
NOTIFYs the owner; the owner claims it (`running`, `taken_by` its process), runs it and
stores the answer (`done` with `result`, or `failed` with the error in `result`), NOTIFYing
the caller. A caller that gives up marks it `abandoned`, so it never runs late. Rows older
than a day are pruned by the runner.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03

Frozen on purpose: the schema is spelled out here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_calls",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("call", sa.Text(), nullable=False),
        sa.Column("args", postgresql.JSONB(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "running",
                "done",
                "failed",
                "abandoned",
                name="account_call_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            server_default="queued",
            nullable=False,
        ),
        sa.Column("result", postgresql.JSONB(), nullable=True),
        sa.Column("taken_by", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_account_calls_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_calls")),
    )
    op.create_index(
        "ix_account_calls_open",
        "account_calls",
        ["account_id", "id"],
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )


def downgrade() -> None:
    op.drop_table("account_calls")
