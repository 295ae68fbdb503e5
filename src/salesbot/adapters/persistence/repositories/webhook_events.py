"""The CRM webhook's queue (`webhook_events`); its rows are written by the trigger on
`dialogs` (revision 0017) while the `settings` row `webhook.enabled` exists."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from salesbot.adapters.persistence.models import (
    settings,
    webhook_event_from_row,
    webhook_events,
)
from salesbot.adapters.persistence.repositories.statements import upsert
from salesbot.adapters.persistence.transaction import Transaction
from salesbot.domain.webhook import WebhookEvent

ENABLED_KEY = "webhook.enabled"

_e = webhook_events.c
_earlier = aliased(webhook_events)
_DUE = (
    select(webhook_events)
    .where(
        _e.delivered_at.is_(None),
        or_(_e.next_attempt_at.is_(None), _e.next_attempt_at <= bindparam("now")),
        ~exists().where(
            and_(
                _earlier.c.dialog_id == _e.dialog_id,
                _earlier.c.delivered_at.is_(None),
                _earlier.c.id < _e.id,
            )
        ),
    )
    .order_by(_e.id)
    .limit(bindparam("limit"))
)
_DELIVERED = (
    update(webhook_events)
    .where(_e.id == bindparam("event_id"))
    .values(delivered_at=bindparam("at"), next_attempt_at=None)
)
_FAILED = (
    update(webhook_events)
    .where(_e.id == bindparam("event_id"), _e.delivered_at.is_(None))
    .values(
        attempts=_e.attempts + 1,
        last_error=bindparam("error"),
        next_attempt_at=bindparam("retry_at"),
    )
)
_UNDELIVERED = select(func.count()).select_from(webhook_events).where(_e.delivered_at.is_(None))
_PRUNE = delete(webhook_events).where(
    _e.delivered_at.is_not(None), _e.delivered_at < bindparam("before")
)
_ENABLE = upsert(settings, ("key",), ("value",))
_DISABLE = delete(settings).where(settings.c.key == ENABLED_KEY)


class SqlWebhookEventRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def enable(self, enabled: bool) -> None:
        if enabled:
            await self._tx.execute(_ENABLE, {"key": ENABLED_KEY, "value": "1"})
        else:
            await self._tx.execute(_DISABLE)

    async def due(self, now: datetime, *, limit: int) -> list[WebhookEvent]:
        rows = await self._tx.execute(_DUE, {"now": now, "limit": limit})
        return [webhook_event_from_row(row) for row in rows]

    async def delivered(self, event_id: int, at: datetime) -> None:
        await self._tx.execute(_DELIVERED, {"event_id": event_id, "at": at})

    async def failed(self, event_id: int, *, error: str, retry_at: datetime) -> None:
        values = {"event_id": event_id, "error": error[:1000], "retry_at": retry_at}
        await self._tx.execute(_FAILED, values)

    async def undelivered(self) -> int:
        return int((await self._tx.execute(_UNDELIVERED)).scalar_one())

    async def prune(self, delivered_before: datetime) -> int:
        result = await self._tx.execute(_PRUNE, {"before": delivered_before})
        return int(result.rowcount)
