"""A FloodWait Telegram gave an account, stored on it (the dispatcher, the feeder and a
restart all keep to it); a long one that begins is an event for the admin."""

from __future__ import annotations

from datetime import datetime, timedelta

from salesbot.application.ports import UnitOfWorkFactory
from salesbot.domain.account import LONG_FLOOD_WAIT
from salesbot.domain.events import FloodWaitStarted


async def store_flood_wait(
    uow_factory: UnitOfWorkFactory, account_id: int, now: datetime, retry_after: float
) -> tuple[datetime, FloodWaitStarted | None]:
    """When the account may send again, and the event to tell when a long wait begins
    (None for a short one, the running one again, or an account gone)."""
    until = now + timedelta(seconds=retry_after)
    async with uow_factory() as uow:
        account = await uow.accounts.get(account_id)
        if account is None:
            return until, None
        began = account.wait_flood(until, now)
        await uow.accounts.update(account)
        await uow.commit()
    until = account.flood_wait_until or until
    if began and until - now >= LONG_FLOOD_WAIT:
        return until, FloodWaitStarted(account_id=account_id, phone=account.phone, until=until)
    return until, None
