"""The dialogs' counters of what was said are kept by the database itself.

`dialogs.messages_sent`, `openers_sent` and `messages_received` (revision 0003) were kept
by the repository, with an extra statement after each one that stores or changes a message,
and by a recount after every bulk load. Now two statement-level triggers keep them, for
whatever writes the messages (a single row, INSERT ... SELECT, COPY): the rule of what a
message counts is written once, in `message_counts`.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

Frozen on purpose: the SQL is spelled out here.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What one message adds to its dialog's counters: sent (an outgoing message once `sent`),
# of them the openers, and received (an incoming message).
MESSAGE_COUNTS = """
CREATE FUNCTION message_counts(
    direction text, delivery text, kind text,
    OUT sent integer, OUT openers integer, OUT received integer
) LANGUAGE sql IMMUTABLE AS $$
    SELECT (direction = 'out' AND delivery IS NOT DISTINCT FROM 'sent')::integer,
           (direction = 'out' AND delivery IS NOT DISTINCT FROM 'sent'
            AND kind IS NOT DISTINCT FROM 'opener')::integer,
           (direction = 'in')::integer
$$
"""

# `changes`: the rows a statement wrote, +1 as they are now and -1 as they were.
ADD_TO_DIALOGS = """
    UPDATE dialogs
    SET messages_sent = messages_sent + said.sent,
        openers_sent = openers_sent + said.openers,
        messages_received = messages_received + said.received
    FROM (
        SELECT dialog_id,
               sum(sign * (message_counts(direction, delivery, kind)).sent) AS sent,
               sum(sign * (message_counts(direction, delivery, kind)).openers) AS openers,
               sum(sign * (message_counts(direction, delivery, kind)).received) AS received
        FROM changes
        GROUP BY dialog_id
    ) AS said
    WHERE dialogs.id = said.dialog_id
      AND (said.sent <> 0 OR said.openers <> 0 OR said.received <> 0);
"""

COUNT_INSERTED = f"""
CREATE FUNCTION count_inserted_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH changes AS (
        SELECT dialog_id, 1 AS sign, direction, delivery, kind FROM inserted
    )
    {ADD_TO_DIALOGS}
    RETURN NULL;
END
$$
"""

COUNT_UPDATED = f"""
CREATE FUNCTION count_updated_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH changes AS (
        SELECT dialog_id, 1 AS sign, direction, delivery, kind FROM now_rows
        UNION ALL
        SELECT dialog_id, -1, direction, delivery, kind FROM before_rows
    )
    {ADD_TO_DIALOGS}
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.execute(MESSAGE_COUNTS)
    op.execute(COUNT_INSERTED)
    op.execute(COUNT_UPDATED)
    op.execute(
        "CREATE TRIGGER messages_counted_on_insert AFTER INSERT ON messages "
        "REFERENCING NEW TABLE AS inserted "
        "FOR EACH STATEMENT EXECUTE FUNCTION count_inserted_messages()"
    )
    op.execute(
        "CREATE TRIGGER messages_counted_on_update AFTER UPDATE ON messages "
        "REFERENCING OLD TABLE AS before_rows NEW TABLE AS now_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION count_updated_messages()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER messages_counted_on_update ON messages")
    op.execute("DROP TRIGGER messages_counted_on_insert ON messages")
    op.execute("DROP FUNCTION count_updated_messages()")
    op.execute("DROP FUNCTION count_inserted_messages()")
    op.execute("DROP FUNCTION message_counts(text, text, text)")
