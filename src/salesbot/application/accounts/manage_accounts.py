"""Adding, re-adding, disabling and listing the Telegram accounts that talk to prospects.

Used by the admin bot and the `salesbot account` commands alike. A login is a sequence of
steps (phone, code, maybe password); each may fail and be retried on its own. On success
the session string is stored through the repository (which encrypts it) and, when this
process runs the pool, the account starts at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from salesbot.application.accounts.run_accounts import AccountPool
from salesbot.application.admin.queries import DialogViews
from salesbot.application.errors import (
    AccountNeedsLogin,
    DuplicateAccount,
    InvalidProxy,
    UnknownAccount,
)
from salesbot.application.ports import (
    Clock,
    LoginProgress,
    TelegramLogin,
    UnitOfWork,
    UnitOfWorkFactory,
)
from salesbot.domain.account import Account, AccountStatus
from salesbot.domain.phone import normalize_phone
from salesbot.domain.quota import SendQuota

log = logging.getLogger(__name__)

PROXY_SCHEMES = ("socks5", "socks4", "http")


@dataclass(frozen=True)
class LoginResult:
    password_required: bool
    account_id: int | None = None


@dataclass(frozen=True)
class AccountSummary:
    id: int
    phone: str
    status: AccountStatus
    sent_today: int
    daily_limit: int
    next_free_at: datetime | None
    active_dialogs: int
    limited_until: datetime | None
    proxy_set: bool
    flood_wait_until: datetime | None = None
    """The end of a FloodWait running now (None: none)."""


def check_proxy(url: str | None) -> str | None:
    """The proxy URL trimmed, or None for none; InvalidProxy says what is wrong."""
    if url is None or not url.strip():
        return None
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme.lower() not in PROXY_SCHEMES:
        raise InvalidProxy("it must look like socks5://user:password@host:port")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        raise InvalidProxy("it needs a host and a port: socks5://user:password@host:port")
    return text


class AccountService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        dialogs: DialogViews,
        login: TelegramLogin,
        clock: Clock,
        quota: SendQuota,
        *,
        pool: AccountPool | None = None,
    ) -> None:
        self._uow = uow_factory
        self._dialogs = dialogs
        self._login = login
        self._clock = clock
        self._quota = quota
        self._pool = pool
        self._proxies: dict[str, str | None] = {}

    # --- logging in ----------------------------------------------------------------------

    async def begin_login(self, phone: str, proxy: str | None = None) -> None:
        """Telegram sends the code; a new number or a logged-out account may log in."""
        phone = normalize_phone(phone)
        proxy = check_proxy(proxy)
        async with self._uow() as uow:
            existing = await uow.accounts.get_by_phone(phone)
        if existing is not None and existing.status is not AccountStatus.LOGGED_OUT:
            raise DuplicateAccount(phone)
        if proxy is None and existing is not None:
            proxy = existing.proxy
        await self._login.begin_login(phone, proxy=proxy)
        self._proxies[phone] = proxy

    async def submit_code(self, phone: str, code: str) -> LoginResult:
        phone = normalize_phone(phone)
        return await self._progress(phone, await self._login.submit_code(phone, code))

    async def submit_password(self, phone: str, password: str) -> LoginResult:
        phone = normalize_phone(phone)
        return await self._progress(phone, await self._login.submit_password(phone, password))

    async def cancel_login(self, phone: str) -> None:
        phone = normalize_phone(phone)
        self._proxies.pop(phone, None)
        await self._login.cancel_login(phone)

    async def import_session(
        self, phone: str, session_string: str, proxy: str | None = None
    ) -> int:
        """Store a session made elsewhere (another tool, another machine)."""
        phone = normalize_phone(phone)
        proxy = check_proxy(proxy)
        session_string = session_string.strip()
        if not session_string:
            raise ValueError("the session string is empty")
        return await self._store(phone, session_string, proxy, keep_proxy=proxy is None)

    async def _progress(self, phone: str, progress: LoginProgress) -> LoginResult:
        if progress.password_required or progress.session_string is None:
            return LoginResult(password_required=True)
        proxy = self._proxies.pop(phone, None)
        account_id = await self._store(phone, progress.session_string, proxy, keep_proxy=False)
        return LoginResult(password_required=False, account_id=account_id)

    async def _store(
        self, phone: str, session_string: str, proxy: str | None, *, keep_proxy: bool
    ) -> int:
        async with self._uow() as uow:
            account = await uow.accounts.get_by_phone(phone)
            if account is None:
                account = await uow.accounts.add(
                    Account(
                        phone=phone,
                        session_string=session_string,
                        status=AccountStatus.ACTIVE,
                        proxy=proxy,
                        created_at=self._clock.now(),
                    )
                )
                log.info("account %s (%s) added", account.id, phone)
            elif account.status is AccountStatus.LOGGED_OUT:
                account.relogin(session_string)
                if not keep_proxy or proxy is not None:
                    account.proxy = proxy
                await uow.accounts.update(account)
                log.info("account %s (%s) logged in again", account.id, phone)
            else:
                raise DuplicateAccount(phone)
            await uow.commit()
        assert account.id is not None
        if self._pool is not None:
            await self._pool.start(account.id)
        return account.id

    # --- switching on and off ------------------------------------------------------------

    async def disable(self, phone: str) -> None:
        """The account stops talking (its client stops at once); dialogs keep their account."""
        phone = normalize_phone(phone)
        async with self._uow() as uow:
            account = await _get(uow, phone)
            if account.status is not AccountStatus.DISABLED:
                account.disable()
                await uow.accounts.update(account)
                await uow.commit()
        assert account.id is not None
        if self._pool is not None:
            await self._pool.stop(account.id)

    async def enable(self, phone: str) -> None:
        """A disabled (or limited) account talks again; a logged-out one needs a login."""
        phone = normalize_phone(phone)
        async with self._uow() as uow:
            account = await _get(uow, phone)
            if account.status is AccountStatus.LOGGED_OUT:
                raise AccountNeedsLogin(phone)
            if account.status is not AccountStatus.ACTIVE:
                account.enable()
                await uow.accounts.update(account)
                await uow.commit()
        assert account.id is not None
        if self._pool is not None:
            await self._pool.start(account.id)

    # --- looking -------------------------------------------------------------------------

    async def list_accounts(self) -> list[AccountSummary]:
        now = self._clock.now()
        quota = self._quota
        summaries = []
        active = await self._dialogs.active_per_account()
        async with self._uow() as uow:
            for account in await uow.accounts.every():
                assert account.id is not None
                allowance = quota.allowance(
                    account.quota_state, now, created_at=account.created_at
                )
                if account.status is AccountStatus.ACTIVE:
                    next_free: datetime | None = allowance.next_slot
                elif account.status is AccountStatus.LIMITED and account.limited_until:
                    next_free = max(account.limited_until, allowance.next_slot)
                else:
                    next_free = None
                flood = account.flood_wait_until if account.flood_waiting(now) else None
                if next_free is not None and flood is not None:
                    next_free = max(next_free, flood)
                summaries.append(
                    AccountSummary(
                        id=account.id,
                        phone=account.phone,
                        status=account.status,
                        sent_today=allowance.sent,
                        daily_limit=allowance.limit,
                        next_free_at=next_free,
                        active_dialogs=active.get(account.id, 0),
                        limited_until=account.limited_until,
                        proxy_set=bool(account.proxy),
                        flood_wait_until=flood,
                    )
                )
        return summaries


async def _get(uow: UnitOfWork, phone: str) -> Account:
    account = await uow.accounts.get_by_phone(phone)
    if account is None:
        raise UnknownAccount(phone)
    return account
