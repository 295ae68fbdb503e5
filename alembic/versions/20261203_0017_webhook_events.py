"""The CRM webhook's queue: `webhook_events`, filled by a trigger on `dialogs`.

Every fact a CRM is told of (a dialog started, the first reply, goal, hand-off, rejected,
opted out, failed) is a row written by the database itself, by an AFTER INSERT OR UPDATE
row trigger on `dialogs`, in the same transaction as the change: a crash right after a
commit loses no event, and every code path that writes a dialog (now and later) makes
them. The rule is `domain/webhook.py`'s `facts_to_events`, spelled in SQL below; the
first reply is seen when `messages_received` (kept by revision 0006's triggers on
`messages`) goes from 0 to more.

Events are only made while a webhook is configured: the trigger writes nothing unless the
`settings` row `webhook.enabled` exists. `salesbot run` writes it at start when
WEBHOOK_URL is set and removes it when it is not (one primary-key lookup per dialog
write otherwise). Events queued before the URL was removed stay and go out once a webhook
is configured again; delivered ones are pruned by the deliverer after some days.

Delivery state lives on the row (`attempts`, `next_attempt_at` — NULL: never tried, due
at once —, `delivered_at`, `last_error`) so retries and their back-off survive restarts.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03

Frozen on purpose: the SQL is spelled out here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUE_EVENTS = """
CREATE FUNCTION queue_webhook_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_status text := 'active';
    was_outcome text := 'continue';
    was_received integer := 0;
    kinds text[] := ARRAY[]::text[];
    kind text;
    snapshot json;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM settings WHERE key = 'webhook.enabled') THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        kinds := kinds || 'dialog_started'::text;
    ELSE
        was_status := OLD.status;
        was_outcome := OLD.outcome;
        was_received := OLD.messages_received;
    END IF;
    IF was_received = 0 AND NEW.messages_received > 0 THEN
        kinds := kinds || 'first_reply'::text;
    END IF;
    IF NEW.outcome IS DISTINCT FROM was_outcome THEN
        IF NEW.outcome = 'goal' THEN
            kinds := kinds || 'goal'::text;
        ELSIF NEW.outcome = 'handoff' THEN
            kinds := kinds || 'handoff'::text;
        ELSIF NEW.outcome IN ('rejected', 'not_qualified')
              AND was_outcome NOT IN ('rejected', 'not_qualified') THEN
            kinds := kinds || 'rejected'::text;
        END IF;
    END IF;
    IF (NEW.status = 'opted_out' OR NEW.outcome = 'opt_out')
       AND NOT (was_status = 'opted_out' OR was_outcome = 'opt_out') THEN
        kinds := kinds || 'opted_out'::text;
    END IF;
    IF NEW.status = 'failed' AND was_status <> 'failed' THEN
        kinds := kinds || 'failed'::text;
    END IF;
    IF cardinality(kinds) = 0 THEN
        RETURN NULL;
    END IF;
    snapshot := json_build_object(
        'id', NEW.id,
        'username', NEW.target_username,
        'user_id', NEW.target_user_id,
        'account_id', NEW.account_id,
        'campaign_id', NEW.campaign_id,
        'variant', NEW.variant,
        'status', NEW.status,
        'outcome', NEW.outcome,
        'stage', NEW.stage,
        'warmth', NEW.warmth,
        'summary', NEW.summary
    );
    FOREACH kind IN ARRAY kinds LOOP
        INSERT INTO webhook_events (dialog_id, kind, payload) VALUES (NEW.id, kind, snapshot);
    END LOOP;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("dialog_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "dialog_started",
                "first_reply",
                "goal",
                "handoff",
                "rejected",
                "opted_out",
                "failed",
                name="webhook_event_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.ForeignKeyConstraint(
            ["dialog_id"], ["dialogs.id"], name=op.f("fk_webhook_events_dialog_id_dialogs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
    )
    op.create_index(
        "ix_webhook_events_undelivered",
        "webhook_events",
        ["dialog_id", "id"],
        postgresql_where=sa.text("delivered_at IS NULL"),
    )
    op.create_index(
        "ix_webhook_events_delivered_at",
        "webhook_events",
        ["delivered_at"],
        postgresql_where=sa.text("delivered_at IS NOT NULL"),
    )
    op.execute(QUEUE_EVENTS)
    op.execute(
        "CREATE TRIGGER dialogs_queue_webhook_events AFTER INSERT OR UPDATE ON dialogs "
        "FOR EACH ROW EXECUTE FUNCTION queue_webhook_events()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER dialogs_queue_webhook_events ON dialogs")
    op.execute("DROP FUNCTION queue_webhook_events()")
    op.drop_table("webhook_events")
    op.execute("DELETE FROM settings WHERE key = 'webhook.enabled'")
