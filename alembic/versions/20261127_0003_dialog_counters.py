"""Per-dialog counters of what was said, for /stats of all time.

`dialogs.messages_sent` (outgoing messages sent), `openers_sent` (of them, openers) and
`messages_received` (incoming messages): /stats of all time sums them over the dialogs
(100,000 rows) instead of reading every message (a million rows, ~250 ms per pass). The
statements that store and send messages keep them from now on; this revision counts what
the messages already hold, in one pass over them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Frozen on purpose, like 0001: the backfill spells its SQL out instead of importing the
repositories' statements.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTERS = ("messages_sent", "openers_sent", "messages_received")

# One pass over the messages (UPDATE ... FROM).
BACKFILL = """
UPDATE dialogs
SET messages_sent = said.sent, openers_sent = said.openers, messages_received = said.received
FROM (
    SELECT dialog_id,
           sum(CASE WHEN direction = 'out' AND delivery = 'sent' THEN 1 ELSE 0 END) AS sent,
           sum(CASE WHEN direction = 'out' AND delivery = 'sent' AND kind = 'opener'
                    THEN 1 ELSE 0 END) AS openers,
           sum(CASE WHEN direction = 'in' THEN 1 ELSE 0 END) AS received
    FROM messages
    GROUP BY dialog_id
) AS said
WHERE dialogs.id = said.dialog_id
"""


def upgrade() -> None:
    with op.batch_alter_table("dialogs") as batch:
        for name in COUNTERS:
            batch.add_column(sa.Column(name, sa.Integer(), server_default="0", nullable=False))
    op.execute(BACKFILL)


def downgrade() -> None:
    with op.batch_alter_table("dialogs") as batch:
        for name in reversed(COUNTERS):
            batch.drop_column(name)
