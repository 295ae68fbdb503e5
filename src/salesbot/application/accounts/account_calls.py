"""Account calls: a command in any process uses any process's account (issue 19).

A Telegram session is live in one process only (its lock), and outside the outbox only two
things need a particular account's client: resolving a username (/start) and asking
@SpamBot (/check_account). Both are reads, so running one twice does no harm. The router
(`AccountCalls`) runs them on the local client when this process runs the account, else
queues them in the database for the account's owner and waits for the answer. The runner
(`AccountCallRunner`, the `account calls` component of `salesbot run`) claims the queued
calls of the accounts this process runs, runs them and stores the answer or the error.

What a caller never sees: a call answered late. One that times out is abandoned (never run
after), and the caller hears which account did not answer. A call taken by a process that
then lost the account is run again by the new owner; one queued while its account was
between owners waits for the next (within the caller's timeout).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from salesbot.application.accounts.call_codec import (
    decode_error,
    decode_peer,
    encode_error,
    encode_peer,
)
from salesbot.application.errors import AccountNotConnected, PortError, TelegramUnavailable
from salesbot.application.ports import (
    AccountCall,
    AccountCallQueue,
    Census,
    Clock,
    ConnectedAccounts,
    SpamBot,
    UsernameResolver,
)
from salesbot.domain.peer import Peer

log = logging.getLogger(__name__)

RESOLVE_USERNAME = "resolve_username"
ASK_SPAM_BOT = "ask_spam_bot"
KEEP = timedelta(days=1)
"""How long a call's row stays (for a look at what happened); then it is pruned."""


class RunningAccounts(Protocol):
    """The accounts this process runs (the pool)."""

    def owned(self) -> frozenset[int]: ...

    def is_running(self, account_id: int) -> bool: ...


class OtherProcesses:
    """The accounts some process runs, as the last census saw them: refreshed by the
    runner every few seconds, read by the router without a round trip."""

    def __init__(self, census: Callable[[], Awaitable[Census]]) -> None:
        """`census`: `AccountLocks.census` (asked for only when refreshed, so nothing that
        merely routes a call opens the locks' connection)."""
        self._census = census
        self._held: frozenset[int] = frozenset()
        self.processes = 1

    async def refresh(self) -> None:
        census = await self._census()
        self._held, self.processes = census.held, census.processes

    def held(self) -> frozenset[int]:
        return self._held


class AccountCalls:
    """The accounts' clients as one process sees every process's: `connected()` and the
    two calls, local or through the queue. `local` is this process's clients (the pool
    connects an account only under its lock, so a client here is the account's owner)."""

    def __init__(
        self,
        local: ConnectedAccounts,
        messenger: UsernameResolver,
        spam_bot: SpamBot,
        queue: AccountCallQueue,
        others: OtherProcesses,
        clock: Clock,
        *,
        timeout: float = 60.0,
        poll: float = 5.0,
    ) -> None:
        self._local = local
        self._messenger = messenger
        self._spam_bot = spam_bot
        self._queue = queue
        self._others = others
        self._clock = clock
        self._timeout = timeout
        self._poll = poll

    def connected(self) -> frozenset[int]:
        """The accounts whose client runs here (the pool's) and those another process
        holds (connected, or about to be once its takeover wait is over)."""
        return self._local.connected() | self._others.held()

    async def resolve_username(self, account_id: int, username: str) -> Peer:
        if account_id in self._local.connected():
            return await self._messenger.resolve_username(account_id, username)
        answer = await self._remote(account_id, RESOLVE_USERNAME, {"username": username})
        return decode_peer(answer)

    async def ask_spam_bot(self, account_id: int) -> str:
        if account_id in self._local.connected():
            return await self._spam_bot.ask_spam_bot(account_id)
        answer = await self._remote(account_id, ASK_SPAM_BOT, {})
        return str(answer.get("text", ""))

    async def _remote(
        self, account_id: int, call: str, args: dict[str, object]
    ) -> dict[str, object]:
        """The owner's answer; its error raised as the same type; TelegramUnavailable
        naming the account when no answer came within the timeout (the call abandoned)."""
        if account_id not in self._others.held():
            raise AccountNotConnected(account_id)
        call_id = await self._queue.put(account_id, call, args, at=self._clock.now())
        deadline = self._clock.now() + timedelta(seconds=self._timeout)
        while True:
            outcome = await self._queue.outcome(call_id)
            if outcome is not None and outcome.status in ("done", "failed"):
                if outcome.status == "failed":
                    raise decode_error(outcome.result or {})
                return outcome.result or {}
            left = (deadline - self._clock.now()).total_seconds()
            if outcome is None or outcome.status == "abandoned" or left <= 0:
                if outcome is not None and not await self._queue.abandon(call_id):
                    continue  # it was answered a moment ago: read the answer
                log.warning("account %s: %s got no answer in time; abandoned", account_id, call)
                raise TelegramUnavailable(
                    f"account {account_id}: the process that runs it did not answer within "
                    f"{self._timeout:.0f} s"
                )
            await self._queue.wait_for_outcome(call_id, min(left, self._poll))


class AccountCallRunner:
    """Runs the queued calls of the accounts this process runs, on its own clients."""

    def __init__(
        self,
        queue: AccountCallQueue,
        pool: RunningAccounts,
        messenger: UsernameResolver,
        spam_bot: SpamBot,
        others: OtherProcesses,
        clock: Clock,
        *,
        taker: str,
        max_age: float = 60.0,
        poll: float = 5.0,
        census_interval: float = 5.0,
        prune_interval: float = 3600.0,
    ) -> None:
        self._queue = queue
        self._pool = pool
        self._messenger = messenger
        self._spam_bot = spam_bot
        self._others = others
        self._clock = clock
        self._taker = taker
        self._max_age = timedelta(seconds=max_age)
        self._poll = poll
        self._census_interval = timedelta(seconds=census_interval)
        self._prune_interval = timedelta(seconds=prune_interval)
        self._census_at: datetime | None = None
        self._pruned_at: datetime | None = None
        self._running: dict[int, asyncio.Task[None]] = {}

    async def run_forever(self) -> None:
        try:
            while True:
                try:
                    await self.run_once()
                except PortError as error:
                    log.warning("account calls: looking for calls failed: %s", error)
                await self._queue.wait_for_calls(self._poll)
        finally:
            for task in list(self._running.values()):
                task.cancel()

    async def run_once(self) -> None:
        """Refresh the census and prune when due; start every call claimed now."""
        now = self._clock.now()
        if self._census_at is None or now - self._census_at >= self._census_interval:
            await self._others.refresh()
            self._census_at = now
        if self._pruned_at is None or now - self._pruned_at >= self._prune_interval:
            gone = await self._queue.prune(now - KEEP)
            self._pruned_at = now
            if gone:
                log.debug("account calls: %d old call(s) pruned", gone)
        calls = await self._queue.claim(
            self._pool.owned(), self._taker, queued_since=now - self._max_age
        )
        for call in calls:
            if call.id not in self._running:
                self._running[call.id] = asyncio.create_task(
                    self._run(call), name=f"account call {call.id}"
                )

    async def idle(self) -> None:
        """Wait until every call started here is over (tests)."""
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    async def _run(self, call: AccountCall) -> None:
        try:
            try:
                answer = await self._perform(call)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if not self._pool.is_running(call.account_id):
                    # Lost the account meanwhile: the new owner runs it again.
                    log.info("account %s: call %s left to its new owner", call.account_id, call.id)
                    return
                await self._queue.finish(call.id, error=encode_error(error))
            else:
                await self._queue.finish(call.id, result=answer)
        except PortError as error:
            log.warning("account call %s: storing its answer failed: %s", call.id, error)
        finally:
            self._running.pop(call.id, None)

    async def _perform(self, call: AccountCall) -> dict[str, object]:
        if call.call == RESOLVE_USERNAME:
            peer = await self._messenger.resolve_username(
                call.account_id, str(call.args["username"])
            )
            return encode_peer(peer)
        if call.call == ASK_SPAM_BOT:
            return {"text": await self._spam_bot.ask_spam_bot(call.account_id)}
        raise TelegramUnavailable(f"unknown account call {call.call!r} (another salesbot version?)")
