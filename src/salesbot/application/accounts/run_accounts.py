"""The accounts this process runs: connected concurrently, one owner per session.

Before connecting an account the pool takes its lock (a PostgreSQL advisory lock in
production): running one session from two processes makes Telegram kill it
(AUTH_KEY_DUPLICATED), so an account another process holds is skipped, and taken over
by a later `refresh()` once that process lets go. One account failing never holds up
the others; what a failure means for the account is recorded here and told to the admin.

A client starts from the account's stored update state, so Telegram replays what came
while it was away; once it runs, `catch_up` (the conversation's history check) looks for
whatever that could not bring back. When an account stops, its latest update state is
written before its lock is let go: the next owner resumes from there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from salesbot.application.accounts.update_states import UpdateStateKeeper
from salesbot.application.errors import (
    AccountDeactivated,
    CredentialsRejected,
    PortError,
    SessionInvalid,
    TelegramError,
    TelegramUnavailable,
)
from salesbot.application.ports import (
    AccountConnections,
    AccountLocks,
    AdminNotifier,
    Clock,
    UnitOfWorkFactory,
)
from salesbot.domain.account import Account, AccountStatus
from salesbot.domain.errors import IllegalTransition
from salesbot.domain.events import AccountBanned, AccountLoggedOut, Event

log = logging.getLogger(__name__)

RUNNABLE = frozenset({AccountStatus.ACTIVE, AccountStatus.LIMITED})
"""Statuses whose client runs: a limited account may not send, but still hears replies."""

CatchUp = Callable[[int], Awaitable[object]]


class FirstRound:
    """Whether the accounts' first connection round after a start is still under way: a
    /start typed, or replayed from the journal, right after a restart waits for it rather
    than being told there is no account while the accounts are connecting. Nothing waits
    unless a round is expected (only `salesbot run` starts one)."""

    def __init__(self) -> None:
        self._over: asyncio.Event | None = None

    def expect(self) -> None:
        if self._over is None:
            self._over = asyncio.Event()

    def done(self) -> None:
        if self._over is not None:
            self._over.set()

    async def wait(self) -> None:
        if self._over is not None:
            await self._over.wait()


class AccountPool:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        connections: AccountConnections,
        locks: AccountLocks,
        notifier: AdminNotifier,
        clock: Clock,
        states: UpdateStateKeeper,
        *,
        catch_up: CatchUp | None = None,
        connect_timeout: float = 60.0,
        retry_first: float = 30.0,
        retry_max: float = 15 * 60.0,
        first_round: FirstRound | None = None,
    ) -> None:
        self._uow = uow_factory
        self._connections = connections
        self._locks = locks
        self._notifier = notifier
        self._clock = clock
        self._states = states
        self._catch_up = catch_up
        self._catching_up: dict[int, asyncio.Task[None]] = {}
        self._connect_timeout = connect_timeout
        self._retry_first = retry_first
        self._retry_max = retry_max
        self._owned: set[int] = set()
        self._retry_at: dict[int, tuple[datetime, float]] = {}
        self._held_elsewhere: set[int] = set()
        self._guards: dict[int, asyncio.Lock] = {}
        self._first_round = first_round or FirstRound()

    def owned(self) -> frozenset[int]:
        """Accounts this process holds the lock of and has connected."""
        return frozenset(self._owned)

    def is_running(self, account_id: int) -> bool:
        return account_id in self._owned

    def _guard(self, account_id: int) -> asyncio.Lock:
        return self._guards.setdefault(account_id, asyncio.Lock())

    # --- starting and stopping -----------------------------------------------------------

    def expect_first_round(self) -> None:
        """The process is about to `start_all`: until that ends, `first_round` waits."""
        self._first_round.expect()

    async def start_all(self) -> frozenset[int]:
        """Connect every runnable account at once; returns those now running."""
        try:
            await self.lift_cooldowns()
            async with self._uow() as uow:
                accounts = await uow.accounts.every(statuses=RUNNABLE)
            await self._start_many([a.id for a in accounts if a.id is not None])
        finally:
            self._first_round.done()
        log.info("account pool: %d of %d accounts running", len(self._owned), len(accounts))
        return self.owned()

    async def _start_many(self, account_ids: list[int]) -> None:
        results = await asyncio.gather(
            *(self.start(a) for a in account_ids), return_exceptions=True
        )
        for result in results:  # API_ID/API_HASH is every account's: no retry helps
            if isinstance(result, CredentialsRejected):
                raise result
        for account_id, result in zip(account_ids, results, strict=True):
            if isinstance(result, BaseException):
                log.error("account %s: starting it failed: %r", account_id, result)
                self._schedule_retry(account_id)

    async def start(self, account_id: int) -> bool:
        """Connect one account (added or enabled while running); False when it did not."""
        async with self._guard(account_id):
            if account_id in self._owned:
                return True
            async with self._uow() as uow:
                account = await uow.accounts.get(account_id)
                peers = await uow.peers.list_for_account(account_id) if account else []
            if account is None or account.status not in RUNNABLE:
                return False
            if not await self._locks.try_acquire(account_id):
                self._log_held_elsewhere(account)
                return False
            self._held_elsewhere.discard(account_id)
            try:
                state = await self._states.state_for(account_id)
                await asyncio.wait_for(
                    self._connections.connect(account, peers, state), self._connect_timeout
                )
            except BaseException as exc:
                await self._connections.disconnect(account_id)
                await self._locks.release(account_id)
                if not isinstance(exc, Exception):
                    raise
                failure: Exception | None = exc
            else:
                failure = None
                self._owned.add(account_id)
                self._retry_at.pop(account_id, None)
                self._start_catch_up(account_id)
        if failure is not None:
            await self._connect_failed(account, failure)
            return False
        log.info("account %s (%s) is running", account_id, account.phone)
        return True

    def _start_catch_up(self, account_id: int) -> None:
        if self._catch_up is None:
            return
        catch_up = self._catch_up

        async def catching_up() -> None:
            try:
                await catch_up(account_id)
            except asyncio.CancelledError:
                raise
            except TelegramError as error:
                log.warning(
                    "account %s: the chats could not be checked for missed messages (%s); "
                    "they are checked again when it reconnects", account_id, error,
                )
            except Exception:
                log.exception("account %s: checking the chats for missed messages failed",
                              account_id)
            finally:
                self._catching_up.pop(account_id, None)

        self._catching_up[account_id] = asyncio.create_task(
            catching_up(), name=f"catch-up of account {account_id}"
        )

    async def caught_up(self) -> None:
        """Wait until every account's check for missed messages is over (tests, benches)."""
        while self._catching_up:
            await asyncio.gather(*list(self._catching_up.values()), return_exceptions=True)

    async def stop(self, account_id: int) -> None:
        """Disconnect the account and let other processes have it."""
        async with self._guard(account_id):
            was_owned = account_id in self._owned
            self._owned.discard(account_id)
            self._retry_at.pop(account_id, None)
            catching_up = self._catching_up.pop(account_id, None)
            if catching_up is not None:
                catching_up.cancel()
            try:
                await self._connections.disconnect(account_id)
                await self._states.flush([account_id])
            finally:
                if was_owned:
                    await self._locks.release(account_id)

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop(a) for a in list(self._owned)), return_exceptions=True)

    # --- what failures mean --------------------------------------------------------------

    async def report_failure(self, account_id: int, error: TelegramError) -> None:
        """A revoked session logs the account out, a deactivation bans it; either way the
        admin is told once and the client stops."""
        if isinstance(error, SessionInvalid):
            await self._retire(account_id, AccountStatus.LOGGED_OUT, error)
        elif isinstance(error, AccountDeactivated):
            await self._retire(account_id, AccountStatus.BANNED, error)

    async def _connect_failed(self, account: Account, exc: Exception) -> None:
        assert account.id is not None
        if isinstance(exc, CredentialsRejected):
            raise exc
        if isinstance(exc, (SessionInvalid, AccountDeactivated)):
            await self.report_failure(account.id, exc)
            return
        delay = self._schedule_retry(account.id)
        reason = "timed out" if isinstance(exc, asyncio.TimeoutError) else str(exc)
        if isinstance(exc, (TelegramUnavailable, asyncio.TimeoutError)):
            log.warning(
                "account %s: cannot connect (%s); retry in %.0f s", account.id, reason, delay
            )
        else:
            log.error(
                "account %s: connecting failed unexpectedly (%r); retry in %.0f s",
                account.id,
                exc,
                delay,
            )

    async def _retire(self, account_id: int, status: AccountStatus, error: TelegramError) -> None:
        event: Event | None = None
        async with self._uow() as uow:
            account = await uow.accounts.get(account_id)
            if account is not None and account.status is not status:
                try:
                    if status is AccountStatus.BANNED:
                        account.ban()
                        event = AccountBanned(account_id=account_id, phone=account.phone)
                    else:
                        account.log_out()
                        event = AccountLoggedOut(account_id=account_id, phone=account.phone)
                except IllegalTransition as exc:
                    log.warning("account %s: %s (%s)", account_id, exc, error)
                else:
                    await uow.accounts.update(account)
                    await uow.commit()
        await self.stop(account_id)
        if event is not None:
            log.warning("account %s is now %s: %s", account_id, status.value, error)
            await _tell(self._notifier, event)

    def _schedule_retry(self, account_id: int) -> float:
        _, previous = self._retry_at.get(account_id, (None, 0.0))
        delay = min(self._retry_max, previous * 2 if previous else self._retry_first)
        self._retry_at[account_id] = (self._clock.now() + timedelta(seconds=delay), delay)
        return delay

    def _log_held_elsewhere(self, account: Account) -> None:
        assert account.id is not None
        if account.id in self._held_elsewhere:
            log.debug("account %s is still run by another process", account.id)
            return
        self._held_elsewhere.add(account.id)
        log.info(
            "account %s (%s) is run by another process; skipping it here", account.id, account.phone
        )

    # --- keeping the pool in line with the database --------------------------------------

    async def lift_cooldowns(self) -> list[int]:
        """Limited accounts whose cool-down is over become active again."""
        now = self._clock.now()
        lifted = []
        async with self._uow() as uow:
            for account in await uow.accounts.every(statuses=[AccountStatus.LIMITED]):
                if account.lift_limit(now):
                    await uow.accounts.update(account)
                    lifted.append(account.id)
            if lifted:
                await uow.commit()
        for account_id in lifted:
            log.info("account %s: the spam cool-down is over, it is active again", account_id)
        return [a for a in lifted if a is not None]

    async def refresh(self) -> None:
        """Start runnable accounts not running yet (added by another process, retries due,
        released by another process), stop those no longer runnable, restart dead clients."""
        await self.lift_cooldowns()
        async with self._uow() as uow:
            wanted = {a.id for a in await uow.accounts.every(statuses=RUNNABLE)}
        for account_id in self._owned - wanted:
            log.info("account %s is no longer active; stopping it", account_id)
            await self.stop(account_id)
        await self._give_up_lost_locks()
        live = self._connections.connected()
        for account_id in self._owned - live:
            log.warning("account %s lost its connection; reconnecting", account_id)
            await self.stop(account_id)
        now = self._clock.now()
        due = [
            a
            for a in sorted(a for a in wanted if a is not None)
            if a not in self._owned and self._retry_at.get(a, (now, 0.0))[0] <= now
        ]
        if due:
            await self._start_many(due)

    async def _give_up_lost_locks(self) -> None:
        """Stop running accounts whose lock this process no longer holds.

        A lock lives as long as its database connection: when that connection dies (a
        server restart, a network cut) another process may take the lock before this one
        reconnects. Both would then run one session, which Telegram answers by revoking
        it, so the client here stops at once and the account is left to the other process.
        """
        owned = set(self._owned)
        if not owned:
            return
        for account_id in sorted(owned - await self._locks.still_held(owned)):
            async with self._guard(account_id):
                if account_id not in self._owned:
                    continue
                self._owned.discard(account_id)
                self._held_elsewhere.add(account_id)
                await self._connections.disconnect(account_id)
            log.error(
                "account %s: another process took its lock while this one was cut off from "
                "the database; its client here is stopped so the session never runs twice",
                account_id,
            )

    async def run_forever(self, interval: float = 60.0) -> None:
        while True:
            await self._clock.sleep(interval)
            try:
                await self.refresh()
            except CredentialsRejected:
                raise
            except PortError as error:  # an outage, told by its message
                log.warning("refreshing the account pool failed: %s", error)
            except Exception:
                log.exception("refreshing the account pool failed")


async def _tell(notifier: AdminNotifier, event: Event) -> None:
    try:
        await notifier.notify(event)
    except Exception:
        log.exception("telling the admin %r failed", event)
