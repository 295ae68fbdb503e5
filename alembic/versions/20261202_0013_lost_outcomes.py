"""dialogs.outcome may be 'rejected' or 'not_qualified': a lost lead, told apart from a
silent one in /stats and the exports (the model's reading, or the operator's /close N).

The column is a string checked by a constraint (no native enum type), so adding a value is
recreating that constraint. Downgrading refuses while a dialog holds a new value.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONSTRAINT = "ck_dialogs_dialog_outcome"
BEFORE = ("continue", "goal", "handoff", "opt_out")
AFTER = (*BEFORE, "rejected", "not_qualified")


def _check(values: tuple[str, ...]) -> str:
    return "outcome IN (" + ", ".join(f"'{value}'" for value in values) + ")"


def upgrade() -> None:
    op.drop_constraint(op.f(CONSTRAINT), "dialogs", type_="check")
    op.create_check_constraint(op.f(CONSTRAINT), "dialogs", _check(AFTER))


def downgrade() -> None:
    op.drop_constraint(op.f(CONSTRAINT), "dialogs", type_="check")
    op.create_check_constraint(op.f(CONSTRAINT), "dialogs", _check(BEFORE))
