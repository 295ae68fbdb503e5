"""`salesbot check --online`: is every account's session still alive?

Each runnable account is connected once (its client starts and asks Telegram who it is)
and disconnected again, under its lock: a session that another process (a running
`salesbot run`) holds is left alone, since running it from two processes makes Telegram
kill it. Nothing is stored: a dead session is reported, not marked (the pool does that
when it meets one).
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass

from salesbot.application.errors import AccountDeactivated, SessionInvalid, TelegramError
from salesbot.application.ports import AccountConnections, AccountLocks, UnitOfWorkFactory
from salesbot.domain.account import Account, AccountStatus

CONNECT_TIMEOUT = 10.0


class SessionVerdict(str, enum.Enum):
    ALIVE = "alive"
    IN_USE = "in_use"
    """Another process holds the session (not checked)."""
    DISABLED = "disabled"
    """The operator disabled it (not checked)."""
    NEEDS_LOGIN = "needs_login"
    BANNED = "banned"
    UNREACHABLE = "unreachable"

    @property
    def failed(self) -> bool:
        return self in _FAILED


_FAILED = frozenset(
    {SessionVerdict.NEEDS_LOGIN, SessionVerdict.BANNED, SessionVerdict.UNREACHABLE}
)


@dataclass(frozen=True)
class SessionChecked:
    account_id: int
    phone: str
    verdict: SessionVerdict
    detail: str = ""


class SessionCheck:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        connections: AccountConnections,
        locks: AccountLocks,
        *,
        timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        self._uow = uow_factory
        self._connections = connections
        self._locks = locks
        self._timeout = timeout

    async def check_all(self) -> list[SessionChecked]:
        """One verdict per stored account, in the order of their ids."""
        async with self._uow() as uow:
            accounts = await uow.accounts.every()
        return [await self._check(account) for account in sorted(accounts, key=_id)]

    async def _check(self, account: Account) -> SessionChecked:
        assert account.id is not None
        status = account.status
        if status is AccountStatus.DISABLED:
            return SessionChecked(account.id, account.phone, SessionVerdict.DISABLED)
        if status is AccountStatus.LOGGED_OUT:
            return SessionChecked(account.id, account.phone, SessionVerdict.NEEDS_LOGIN)
        if status is AccountStatus.BANNED:
            return SessionChecked(account.id, account.phone, SessionVerdict.BANNED)
        if not await self._locks.try_acquire(account.id):
            return SessionChecked(account.id, account.phone, SessionVerdict.IN_USE)
        try:
            verdict, detail = await self._connect(account)
        finally:
            await self._locks.release(account.id)
        return SessionChecked(account.id, account.phone, verdict, detail)

    async def _connect(self, account: Account) -> tuple[SessionVerdict, str]:
        assert account.id is not None
        try:
            await asyncio.wait_for(self._connections.connect(account, []), self._timeout)
        except SessionInvalid as error:
            return SessionVerdict.NEEDS_LOGIN, str(error)
        except AccountDeactivated as error:
            return SessionVerdict.BANNED, str(error)
        except asyncio.TimeoutError:
            return SessionVerdict.UNREACHABLE, f"no answer in {self._timeout:g} s"
        except TelegramError as error:
            return SessionVerdict.UNREACHABLE, str(error)
        finally:
            await self._connections.disconnect(account.id)
        return SessionVerdict.ALIVE, ""


def _id(account: Account) -> int:
    return account.id or 0
