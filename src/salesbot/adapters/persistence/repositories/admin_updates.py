"""The admin bot's update journal (`admin_updates`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql

from salesbot.adapters.persistence.models import admin_updates
from salesbot.adapters.persistence.transaction import Transaction
from salesbot.application.ports import AdminUpdate

_u = admin_updates.c
_RECORD = (
    postgresql.insert(admin_updates)
    .values(state="received")
    .on_conflict_do_nothing(index_elements=["update_id"])
    .returning(_u.update_id)
)
_START = (
    update(admin_updates)
    .where(_u.update_id == bindparam("id"), _u.state == "received")
    .values(state="started", started_at=bindparam("started_at"))
    .returning(_u.update_id)
)
_FINISH = (
    update(admin_updates)
    .where(_u.update_id == bindparam("id"))
    .values(state="done", payload=None)
)
_AGAIN = (
    update(admin_updates)
    .where(_u.update_id == bindparam("id"), _u.state == "started")
    .values(state="received", started_at=None)
    .returning(_u.update_id)
)
_UNFINISHED = (
    select(_u.update_id, _u.state, _u.payload)
    .where(_u.state != "done")
    .order_by(_u.update_id)
)
_PRUNE = delete(admin_updates).where(
    _u.state == "done", _u.received_at < bindparam("before")
)


class SqlAdminUpdateRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def record(
        self, update_id: int, payload: dict[str, object], received_at: datetime
    ) -> bool:
        values = {"update_id": update_id, "payload": payload, "received_at": received_at}
        return (await self._tx.execute(_RECORD, values)).first() is not None

    async def start(self, update_id: int, started_at: datetime) -> bool:
        result = await self._tx.execute(_START, {"id": update_id, "started_at": started_at})
        return result.first() is not None

    async def finish(self, update_id: int) -> None:
        await self._tx.execute(_FINISH, {"id": update_id})

    async def again(self, update_id: int) -> bool:
        return (await self._tx.execute(_AGAIN, {"id": update_id})).first() is not None

    async def unfinished(self) -> list[AdminUpdate]:
        rows = await self._tx.execute(_UNFINISHED)
        return [AdminUpdate(row.update_id, row.state, row.payload) for row in rows]

    async def prune(self, received_before: datetime) -> int:
        result = await self._tx.execute(_PRUNE, {"before": received_before})
        return int(result.rowcount)
