"""The SQL unit of work: one database transaction, rolled back on exit unless committed."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncEngine

from salesbot.adapters.persistence.repositories import (
    SqlAccountRepository,
    SqlAdminUpdateRepository,
    SqlCampaignRepository,
    SqlDialogRepository,
    SqlDoNotContactRepository,
    SqlLeadRepository,
    SqlMessageRepository,
    SqlPeerRepository,
    SqlSettingRepository,
    SqlUpdateStateRepository,
    SqlWebhookEventRepository,
)
from salesbot.adapters.persistence.transaction import Transaction
from salesbot.application.ports import SessionCipher


class SqlUnitOfWork:
    """Implements UnitOfWork. Like the in-memory one, after `commit()` it stays usable and
    the next statement opens a new transaction."""

    accounts: SqlAccountRepository
    dialogs: SqlDialogRepository
    messages: SqlMessageRepository
    do_not_contact: SqlDoNotContactRepository
    peers: SqlPeerRepository
    settings: SqlSettingRepository
    update_states: SqlUpdateStateRepository
    admin_updates: SqlAdminUpdateRepository
    campaigns: SqlCampaignRepository
    leads: SqlLeadRepository
    webhook_events: SqlWebhookEventRepository

    def __init__(
        self, transaction_factory: Callable[[], Transaction], cipher: SessionCipher
    ) -> None:
        self._transaction_factory = transaction_factory
        self._cipher = cipher
        self._tx: Transaction | None = None

    async def __aenter__(self) -> SqlUnitOfWork:
        assert self._tx is None, "a unit of work is entered once at a time"
        tx = self._tx = self._transaction_factory()
        self.accounts = SqlAccountRepository(tx, self._cipher)
        self.dialogs = SqlDialogRepository(tx)
        self.messages = SqlMessageRepository(tx)
        self.do_not_contact = SqlDoNotContactRepository(tx)
        self.peers = SqlPeerRepository(tx)
        self.settings = SqlSettingRepository(tx)
        self.update_states = SqlUpdateStateRepository(tx)
        self.admin_updates = SqlAdminUpdateRepository(tx)
        self.campaigns = SqlCampaignRepository(tx)
        self.leads = SqlLeadRepository(tx)
        self.webhook_events = SqlWebhookEventRepository(tx)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tx, self._tx = self._tx, None
        if tx is not None:
            # Closing rolls back whatever was not committed.
            await tx.close()

    def _current(self) -> Transaction:
        assert self._tx is not None, "use the unit of work inside `async with`"
        return self._tx

    async def commit(self) -> None:
        await self._current().commit()

    async def rollback(self) -> None:
        await self._current().rollback()


def sql_uow_factory(engine: AsyncEngine, cipher: SessionCipher) -> Callable[[], SqlUnitOfWork]:
    """A UnitOfWorkFactory: each call gives a fresh SqlUnitOfWork on `engine`."""

    def new_unit_of_work() -> SqlUnitOfWork:
        return SqlUnitOfWork(lambda: Transaction(engine), cipher)

    return new_unit_of_work
