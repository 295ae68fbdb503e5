"""A Telegram user account that talks to prospects, and the statuses it moves through."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from salesbot.domain.errors import IllegalTransition
from salesbot.domain.quota import QuotaState


class AccountStatus(str, enum.Enum):
    ACTIVE = "active"
    DISABLED = "disabled"
    LIMITED = "limited"
    BANNED = "banned"
    LOGGED_OUT = "logged_out"


_ALLOWED: dict[AccountStatus, frozenset[AccountStatus]] = {
    AccountStatus.ACTIVE: frozenset(
        {
            AccountStatus.DISABLED,
            AccountStatus.LIMITED,
            AccountStatus.BANNED,
            AccountStatus.LOGGED_OUT,
        }
    ),
    AccountStatus.DISABLED: frozenset(
        {AccountStatus.ACTIVE, AccountStatus.BANNED, AccountStatus.LOGGED_OUT}
    ),
    AccountStatus.LIMITED: frozenset(
        {
            AccountStatus.ACTIVE,
            AccountStatus.LIMITED,
            AccountStatus.DISABLED,
            AccountStatus.BANNED,
            AccountStatus.LOGGED_OUT,
        }
    ),
    # A logged-out account comes back only through a new login (a new session string).
    AccountStatus.LOGGED_OUT: frozenset({AccountStatus.ACTIVE, AccountStatus.DISABLED}),
    AccountStatus.BANNED: frozenset(),
}

LONG_FLOOD_WAIT = timedelta(minutes=10)
"""A FloodWait at least this long is the operator's to know; shorter ones only logged."""


@dataclass
class Account:
    phone: str
    session_string: str = field(repr=False)
    status: AccountStatus = AccountStatus.ACTIVE
    id: int | None = None
    limited_until: datetime | None = None
    last_used: datetime | None = None
    daily_messages: int = 0
    quota_day: date | None = None
    proxy: str | None = field(default=None, repr=False)
    created_at: datetime | None = None
    flood_wait_until: datetime | None = None
    """Telegram's FloodWait: the account sends nothing before then (stored, so a restart
    keeps it)."""

    @property
    def quota_state(self) -> QuotaState:
        return QuotaState(day=self.quota_day, sent=self.daily_messages, last_sent_at=self.last_used)

    def _move(self, target: AccountStatus) -> None:
        if target not in _ALLOWED[self.status]:
            raise IllegalTransition("account", self.status.value, target.value)
        self.status = target

    def can_send(self, now: datetime) -> bool:
        """Whether the account may talk now (quota aside): its status lets it and no
        FloodWait is running."""
        return self._rested(now) and not self.flood_waiting(now)

    def _rested(self, now: datetime) -> bool:
        """Active, or limited with the cool-down over."""
        if self.status is AccountStatus.ACTIVE:
            return True
        return (
            self.status is AccountStatus.LIMITED
            and self.limited_until is not None
            and self.limited_until <= now
        )

    def flood_waiting(self, now: datetime) -> bool:
        return self.flood_wait_until is not None and self.flood_wait_until > now

    def wait_flood(self, until: datetime, now: datetime) -> bool:
        """Telegram asked the account to wait until `until` (FloodWait); True when this
        begins a new wait, False when it only extends (or falls within) the running one."""
        running = self.flood_waiting(now)
        if not running or self.flood_wait_until is None or until > self.flood_wait_until:
            self.flood_wait_until = until
        return not running

    def disable(self) -> None:
        self._move(AccountStatus.DISABLED)

    def enable(self) -> None:
        self._move(AccountStatus.ACTIVE)
        self.limited_until = None

    def limit(self, until: datetime) -> None:
        """Telegram flagged the account (PeerFlood): it rests until `until`."""
        self._move(AccountStatus.LIMITED)
        self.limited_until = until

    def lift_limit(self, now: datetime) -> bool:
        """Back to active once the cool-down is over; True when it changed."""
        if self._rested(now) and self.status is AccountStatus.LIMITED:
            self.enable()
            return True
        return False

    def log_out(self) -> None:
        self._move(AccountStatus.LOGGED_OUT)

    def ban(self) -> None:
        self._move(AccountStatus.BANNED)

    def relogin(self, session_string: str) -> None:
        """A fresh login replaced the session: the account works again."""
        if self.status is AccountStatus.BANNED:
            raise IllegalTransition("account", self.status.value, AccountStatus.ACTIVE.value)
        self.session_string = session_string
        self.status = AccountStatus.ACTIVE
        self.limited_until = None

    def copy(self) -> Account:
        return replace(self)
