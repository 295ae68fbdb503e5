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

Several processes share the accounts. Each one's share is the runnable accounts divided
by the live processes (`AccountLocks.census`), rounded up: on each refresh a process
above it hands its highest ids over, one below it takes free ones. A lock alone cannot
keep a session from running twice when the owner is cut off from the database (its
locks die with its connection, another process takes them while its clients still run),
so the pool *fences* itself: it confirms its locks every `lock_check`, stops every
client once `lock_lease` passed without a confirmation, and a taker waits
`takeover_wait` (longer than lease + check + a disconnect) before connecting.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

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
T = TypeVar("T")

BALANCE_REST = 2
"""Refreshes during which an account this process handed over is not taken back by it:
the process that should get it has that long to see it free."""


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
        lock_check: float = 2.0,
        lock_lease: float = 10.0,
        takeover_wait: float = 15.0,
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
        self._lock_check = lock_check
        self._lock_lease = lock_lease
        self._takeover_wait = takeover_wait
        self._locked: set[int] = set()
        """Accounts whose lock this pool holds: those running and those being started."""
        self._confirmed_at: datetime | None = None
        self._fences = 0
        self._unconfirmed = False
        self._resting: dict[int, int] = {}
        self._background: set[asyncio.Task[None]] = set()

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
            wanted = sorted(a.id for a in accounts if a.id is not None)
            await self._start_many(await self._balance(wanted))
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
        """Connect one account (added or enabled while running); False when it did not.

        Every acquisition of the lock waits `takeover_wait` before connecting: the pool
        cannot tell a lock its last owner released cleanly from one that died with the
        owner's database connection while the owner's client may still be running. By
        the end of the wait that owner has fenced itself (its lease ran out) and stopped.
        A fence of this pool during the wait or the connect gives the account up too."""
        async with self._guard(account_id):
            if account_id in self._owned:
                return True
            async with self._uow() as uow:
                account = await uow.accounts.get(account_id)
                peers = await uow.peers.list_for_account(account_id) if account else []
            if account is None or account.status not in RUNNABLE:
                return False
            asked = self._clock.now()
            if not await self._locks.try_acquire(account_id):
                self._log_held_elsewhere(account)
                return False
            if not self._locked:  # the acquisition is this pool's only lock's confirmation
                self._confirmed_at = asked
            self._locked.add(account_id)
            self._held_elsewhere.discard(account_id)
            fences = self._fences
            try:
                await self._clock.sleep(self._takeover_wait)
                if fences != self._fences or account_id not in await self._locks.still_held(
                    [account_id]
                ):
                    raise _Fenced
                state = await self._states.state_for(account_id)
                await asyncio.wait_for(
                    self._connections.connect(account, peers, state), self._connect_timeout
                )
                if fences != self._fences:
                    raise _Fenced
            except _Fenced:
                await self._connections.disconnect(account_id)
                self._locked.discard(account_id)
                await self._locks.release(account_id)
                log.warning(
                    "account %s: its lock could not be confirmed while it was being "
                    "connected; left for a later refresh",
                    account_id,
                )
                return False
            except BaseException as exc:
                await self._connections.disconnect(account_id)
                self._locked.discard(account_id)
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
                    "they are checked again when it reconnects",
                    account_id,
                    error,
                )
            except Exception:
                log.exception(
                    "account %s: checking the chats for missed messages failed", account_id
                )
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
            was_owned = account_id in self._owned or account_id in self._locked
            self._owned.discard(account_id)
            self._locked.discard(account_id)
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
        due = await self._balance(sorted(a for a in wanted if a is not None))
        if due:
            await self._start_many(due)

    async def _balance(self, wanted: list[int]) -> list[int]:
        """Hand over what is above this process's share; the free accounts to take up to it.

        The share is ceil(runnable / live processes), so the processes together always
        cover every account; an account handed over rests BALANCE_REST refreshes here so
        the process short of its share takes it, not this one again."""
        census = await self._locks.census()
        # Locks held here that the pool does not count (a release after a fence still on
        # its way) are this process's to take: no round trip unless there are such.
        ours = await self._locks.still_held(census.held - self._locked)
        share = math.ceil(len(wanted) / max(1, census.processes))
        mine = sorted(self._locked.intersection(wanted))
        resting = set(self._resting)
        for account_id in list(self._resting):
            self._resting[account_id] -= 1
            if self._resting[account_id] <= 0:
                del self._resting[account_id]
        if len(mine) > share:
            for account_id in sorted(mine, reverse=True)[: len(mine) - share]:
                log.info(
                    "account %s: handed over to another process (%d processes share %d "
                    "accounts, %d here at most)",
                    account_id,
                    census.processes,
                    len(wanted),
                    share,
                )
                self._resting[account_id] = BALANCE_REST
                await self.stop(account_id)
            return []
        now = self._clock.now()
        free = [
            a
            for a in wanted
            if (a not in census.held or a in ours)
            and a not in self._locked
            and a not in resting
            and self._retry_at.get(a, (now, 0.0))[0] <= now
        ]
        taken = free[: share - len(mine)]
        if census.processes > 1:
            for account_id in taken:
                log.info(
                    "account %s: free, taken by this process (%d processes share %d "
                    "accounts, %d here at most)",
                    account_id,
                    census.processes,
                    len(wanted),
                    share,
                )
        return taken

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
        await self._give_up(owned - await self._locks.still_held(owned))

    async def _give_up(self, lost: set[int]) -> None:
        for account_id in sorted(lost):
            async with self._guard(account_id):
                if account_id not in self._owned:
                    continue
                self._owned.discard(account_id)
                self._locked.discard(account_id)
                self._held_elsewhere.add(account_id)
                await self._connections.disconnect(account_id)
            log.error(
                "account %s: another process took its lock while this one was cut off from "
                "the database; its client here is stopped so the session never runs twice",
                account_id,
            )

    # --- fencing -------------------------------------------------------------------------

    async def fence_forever(self) -> None:
        """Confirm the locks every `lock_check` (see `confirm_locks`)."""
        while True:
            began = self._clock.now()
            try:
                await self.confirm_locks()
            except Exception:
                log.exception("confirming the account locks failed")
            spent = (self._clock.now() - began).total_seconds()
            await self._clock.sleep(max(0.0, self._lock_check - spent))

    async def confirm_locks(self) -> None:
        """One ping for every lock held, bounded by `lock_check`; a confirmation counts
        from the ping's *sending* (the locks were there then, not necessarily at the
        answer). Locks another process took are given up at once; when `lock_lease`
        passed since the last confirmation, every account is fenced."""
        locked = set(self._locked)
        sent = self._clock.now()
        if not locked:
            self._confirmed_at = sent
            return
        try:
            held = await self._bounded(self._locks.still_held(locked))
        except (asyncio.TimeoutError, PortError) as error:
            if not self._unconfirmed:  # once per outage, not every check
                log.warning(
                    "the account locks could not be confirmed (%s); the accounts stop "
                    "if that lasts %.0f s",
                    error or f"no answer within {self._lock_check:.0f} s",
                    self._lock_lease,
                )
            self._unconfirmed = True
            if self._lease_over():
                await self.fence()
            return
        if self._unconfirmed:
            log.info("the account locks are confirmed again")
        self._unconfirmed = False
        self._confirmed_at = sent
        await self._give_up(locked - held)

    def _lease_over(self) -> bool:
        if self._confirmed_at is None:
            return True
        unconfirmed = (self._clock.now() - self._confirmed_at).total_seconds()
        return unconfirmed >= self._lock_lease

    async def fence(self) -> None:
        """Disconnect every account at once and let go of their locks: this process can
        no longer show it holds them, and by the end of the lease another may have taken
        them. They come back through `refresh` (after the takeover wait) once the
        database answers. Nothing here waits on the database: the releases (and the
        update states' last write) go on in the background."""
        self._fences += 1
        fenced = sorted(self._locked | self._owned)
        if not fenced:
            return
        self._owned.difference_update(fenced)
        self._locked.difference_update(fenced)
        for account_id in fenced:
            catching_up = self._catching_up.pop(account_id, None)
            if catching_up is not None:
                catching_up.cancel()
        await asyncio.gather(
            *(self._connections.disconnect(a) for a in fenced), return_exceptions=True
        )
        log.error(
            "account locks unconfirmed for %.0f s: %d account(s) disconnected so that no "
            "session runs twice; they are taken again once the database answers",
            self._lock_lease,
            len(fenced),
        )
        task = asyncio.ensure_future(self._let_go(fenced))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _let_go(self, account_ids: list[int]) -> None:
        try:
            await self._states.flush(account_ids)
        except Exception as error:
            log.warning("fenced accounts: their update states were not written (%s)", error)
        for account_id in account_ids:
            if account_id in self._locked:  # taken again meanwhile
                continue
            try:
                await self._locks.release(account_id)
            except Exception as error:
                log.warning("account %s: releasing its lock failed (%s)", account_id, error)

    async def _bounded(self, call: Awaitable[T]) -> T:
        """`call`'s result, or asyncio.TimeoutError once `lock_check` passed (on the
        Clock) without one; the call is then cancelled."""
        task = asyncio.ensure_future(call)
        timer = asyncio.ensure_future(self._clock.sleep(self._lock_check))
        try:
            await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if task.cancelled():
            raise asyncio.TimeoutError
        return task.result()

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


class _Fenced(Exception):
    """The account's lock could not be confirmed before it was connected."""


async def _tell(notifier: AdminNotifier, event: Event) -> None:
    try:
        await notifier.notify(event)
    except Exception:
        log.exception("telling the admin %r failed", event)
