"""The outbox dispatcher: the only code that sends messages to prospects.

Per account, one message at a time: claim the next due message and reserve a send slot in
the SAME transaction (no slot: nothing changes, the message stays pending), commit it as
`sending`, mark the chat read, show "typing..." for a human-like time, send, record the
Telegram id as `sent`. Two units of work per message on the happy path.

Every Telegram error becomes an outcome, never a crash nor a silent loss, and a message
left `sending` is checked against the chat before anything is sent again
(interrupted_sends.py), so no message goes out twice. The slot of a send Telegram certainly
refused (FloodWait, not connected, failed before the request) is given back; after a
failure that may have sent it, it stays spent.

A FloodWait is stored on the account (`Account.flood_wait_until`): the reservation refuses
every slot until it ends, so a restart during the wait sends nothing early either; a long
one is told to the admin once, when it begins.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from salesbot.application.accounts.flood_wait import store_flood_wait
from salesbot.application.accounts.run_accounts import AccountPool
from salesbot.application.errors import (
    AccountDeactivated,
    AccountNotConnected,
    RateLimited,
    RecipientUnreachable,
    SessionInvalid,
    SpamLimited,
    TelegramError,
    TelegramUnavailable,
)
from salesbot.application.outbox.delivery import Outbox
from salesbot.application.outbox.reconcile_sends import InterruptedSends, Settlement
from salesbot.application.outbox.spam_limits import SpamLimits
from salesbot.application.outbox.typing_pace import NO_TYPING, TypingPace
from salesbot.application.ports import (
    Clock,
    TelegramMessenger,
    UnitOfWorkFactory,
)
from salesbot.domain.account import AccountStatus
from salesbot.domain.dialog import Dialog
from salesbot.domain.events import WaitingForQuota
from salesbot.domain.message import Delivery, Message, OutKind
from salesbot.domain.peer import Peer
from salesbot.domain.quota import OVER_CAP_KINDS, SendQuota, passes_cap
from salesbot.domain.working_hours import ALWAYS, WorkingHours

__all__ = ["NO_TYPING", "Dispatcher", "TypingPace"]

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
"""Unexplained failures of one message before it is given up (and the admin told)."""


# Telegram answered the send (or the call never left us) with a refusal: the message was
# certainly not taken, so the send slot taken for it is given back.
_REFUSED = (
    RateLimited,
    AccountNotConnected,
    RecipientUnreachable,
    SpamLimited,
    SessionInvalid,
    AccountDeactivated,
)


@dataclass
class _Claimed:
    message: Message
    dialog: Dialog | None
    peer: Peer | None
    slot_day: date | None = None
    """The quota day of the send slot taken for the message (None: none was taken)."""


class Dispatcher:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        messenger: TelegramMessenger,
        pool: AccountPool,
        outbox: Outbox,
        interrupted: InterruptedSends,
        spam: SpamLimits,
        clock: Clock,
        quota: SendQuota,
        *,
        working_hours: WorkingHours = ALWAYS,
        typing: TypingPace | None = None,
        rng: random.Random | None = None,
        send_gap_jitter: float = 0.2,
        idle_seconds: float = 5.0,
        retry_seconds: float = 60.0,
        supervise_seconds: float = 1.0,
    ) -> None:
        self._uow = uow_factory
        self._messenger = messenger
        self._pool = pool
        self._clock = clock
        self._quota = quota
        self._hours = working_hours
        self._typing = typing or TypingPace()
        self._rng = rng or random.Random()
        self._gap_jitter = send_gap_jitter
        self._idle = timedelta(seconds=idle_seconds)
        self._retry = timedelta(seconds=retry_seconds)
        self._supervise_seconds = supervise_seconds
        self._outbox = outbox
        self._interrupted = interrupted
        self._spam = spam
        self._locks: dict[int, asyncio.Lock] = {}
        self._wake_at: dict[int, datetime] = {}
        self._told_waiting: dict[int, date] = {}
        self._cap_used: dict[int, date] = {}
        """Accounts whose daily cap is used, with the day: until it ends only messages that
        pass the cap (the operator's) are claimed for them; the AI's wait."""
        self._created_at: dict[int, datetime | None] = {}
        self._peers: dict[tuple[int, str], Peer] = {}

    # --- public --------------------------------------------------------------------------

    async def dispatch_once(self, account_id: int) -> bool:
        """Handle the account's next due message; False when there was nothing it could do."""
        async with self._lock(account_id):
            now = self._clock.now()
            if not self._pool.is_running(account_id):
                self._wake_at[account_id] = now + self._idle
                return False
            claimed = await self._claim(account_id, now)
            if claimed is None:
                return False
            if claimed.message.delivery is Delivery.SENDING and claimed.dialog is not None:
                await self._deliver(
                    account_id, claimed.message, claimed.dialog, claimed.peer, claimed.slot_day
                )
            return True

    async def reconcile_interrupted(self) -> int:
        """Settle messages left `sending` by a crash, for every account running here;
        returns how many were settled. An account not running keeps them until it runs."""
        settled = 0
        for account_id in sorted(self._pool.owned()):
            settled += (await self._reconcile(account_id)).settled
        return settled

    async def run_forever(self) -> None:
        """One worker per running account; workers follow the pool as it changes."""
        workers: dict[int, asyncio.Task[None]] = {}
        try:
            while True:
                owned = self._pool.owned()
                for account_id, task in list(workers.items()):
                    if account_id not in owned or task.done():
                        task.cancel()
                        del workers[account_id]
                for account_id in sorted(owned - workers.keys()):
                    workers[account_id] = asyncio.create_task(
                        self._work(account_id), name=f"dispatch-{account_id}"
                    )
                await self._clock.sleep(self._supervise_seconds)
        finally:
            for task in workers.values():
                task.cancel()
            await asyncio.gather(*workers.values(), return_exceptions=True)

    def next_wake(self, account_id: int) -> datetime | None:
        """When the account's worker next looks for work (for tests and diagnostics)."""
        return self._wake_at.get(account_id)

    # --- the worker ----------------------------------------------------------------------

    async def _work(self, account_id: int) -> None:
        # A message left `sending` holds its dialog's later messages back until it is
        # settled: at the start, and again after anything that may have left one behind
        # (a dispatch that failed half-way, a chat that could not be read).
        unsettled = True
        while True:
            if unsettled:
                try:
                    unsettled = (await self._reconcile(account_id)).left > 0
                except Exception:
                    log.exception("account %s: reconciling interrupted sends failed", account_id)
            try:
                await self.dispatch_once(account_id)
            except Exception:
                log.exception("account %s: dispatching failed", account_id)
                unsettled = True
                self._wake_at[account_id] = self._clock.now() + self._idle
            await self._clock.sleep(self._pause(account_id))

    def _pause(self, account_id: int) -> float:
        wake = self._wake_at.pop(account_id, None)
        if wake is None:
            return 0.0
        return max(0.0, (wake - self._clock.now()).total_seconds())

    def _lock(self, account_id: int) -> asyncio.Lock:
        return self._locks.setdefault(account_id, asyncio.Lock())

    async def _reconcile(self, account_id: int) -> Settlement:
        async with self._lock(account_id):
            return await self._interrupted.settle(account_id)

    # --- claiming ------------------------------------------------------------------------

    async def _claim(self, account_id: int, now: datetime) -> _Claimed | None:
        """The next message to send, `sending` with its slot reserved and committed; a
        message cancelled instead (its dialog closed); or None when nothing may go now.

        The happy path is three statements: the claim with its dialog (one round trip on
        PostgreSQL), the reservation, the commit (the peer and the account's creation day
        are remembered). The reservation is the quota's only judge; the account is read
        only when it refuses, to learn until when.

        Once the day's cap is used, the operator's messages still go (the minimum delay
        apart) while the AI's wait for the next day: the claims then take only those."""
        quota = self._quota
        waiting: tuple[Message, Dialog, datetime] | None = None
        cap_used = False
        over_cap = self._cap_used.get(account_id) == quota.day_of(now)
        async with self._uow() as uow:
            if account_id not in self._created_at:
                account = await uow.accounts.get(account_id)
                if account is None:
                    self._wake_at[account_id] = now + self._idle
                    return None
                self._created_at[account_id] = account.created_at
            created_at = self._created_at[account_id]
            claimed = await uow.messages.claim_next(
                account_id,
                now,
                include_cold=self._hours.contains(now),
                only=OVER_CAP_KINDS if over_cap else None,
            )
            if claimed is None:
                upcoming = await uow.messages.next_pending_at(account_id)
                wake = now + self._idle
                if upcoming is not None and now < upcoming < wake:
                    wake = upcoming
                self._wake_at[account_id] = wake
                return None
            message, dialog = claimed
            if dialog is None or not dialog.may_send(message):
                message.delivery = Delivery.CANCELLED
                message.error = f"dialog is {dialog.status.value if dialog else 'gone'}"
                await uow.messages.update(message)
                await uow.commit()
                log.info("message %s cancelled: %s", message.id, message.error)
                return _Claimed(message, dialog, None)
            request = quota.slot_request(now, created_at=created_at, kind=message.kind)
            if await uow.accounts.reserve_send_slot(account_id, request):
                peer = self._peers.get((account_id, dialog.target_username))
                if peer is None:
                    peer = await uow.peers.get(account_id, dialog.target_username)
                    if peer is not None:
                        self._peers[(account_id, dialog.target_username)] = peer
                await uow.commit()
                return _Claimed(message, dialog, peer, request.day)
            # No slot: leaving without a commit puts the message back as it was.
            account = await uow.accounts.get(account_id)
            if account is not None and account.flood_waiting(now):
                assert account.flood_wait_until is not None
                self._wake_at[account_id] = account.flood_wait_until
                return None
            if account is None or account.status is not AccountStatus.ACTIVE:
                self._wake_at[account_id] = now + self._idle
                return None
            allowance = quota.allowance(
                account.quota_state, now, created_at=created_at, kind=message.kind
            )
            self._wake_at[account_id] = max(allowance.next_slot, now + timedelta(seconds=1))
            cap_used = allowance.remaining == 0 and not passes_cap(message.kind)
            if cap_used and self._told_waiting.get(account_id) != request.day:
                waiting = (message, dialog, allowance.next_slot)
        if waiting is not None:
            await self._tell_waiting(account_id, now, *waiting)
        if cap_used:
            # The AI's messages wait for the next day; the operator's may go now.
            self._cap_used[account_id] = request.day
            self._wake_at.pop(account_id, None)
            return await self._claim(account_id, now)
        return None

    async def _tell_waiting(
        self,
        account_id: int,
        now: datetime,
        message: Message,
        dialog: Dialog | None,
        next_at: datetime,
    ) -> None:
        """Once a day per account: the quota is spent, this message goes at `next_at`."""
        self._told_waiting[account_id] = self._quota.day_of(now)
        if message.kind is not None and message.kind.is_cold:
            next_at = self._hours.next_opening(next_at)
        log.info(
            "account %s is out of quota for today; message %s waits until %s",
            account_id, message.id, next_at.isoformat(),
        )
        await self._outbox.tell(
            WaitingForQuota(
                dialog_id=message.dialog_id,
                username=dialog.target_username if dialog else "",
                next_at=next_at,
            )
        )

    # --- sending -------------------------------------------------------------------------

    async def _deliver(
        self,
        account_id: int,
        message: Message,
        dialog: Dialog,
        peer: Peer | None,
        slot_day: date | None,
    ) -> None:
        messenger = self._messenger
        sending = False
        try:
            if peer is None:
                peer = await messenger.resolve_username(account_id, dialog.target_username)
                async with self._uow() as uow:
                    await uow.peers.put(peer)
                    await uow.commit()
                self._peers[(account_id, dialog.target_username)] = peer
            if message.attempts:
                # An earlier try may have reached Telegram: look before sending again.
                found = await self._interrupted.find_in_chat(account_id, message, peer)
                if found is not None:
                    log.info("message %s had gone out after all; recording it", message.id)
                    await self._outbox.record_sent(message, found.telegram_message_id, found.date)
                    # The try that sent it kept its slot: this one's was not used.
                    await self._give_back_slot(account_id, slot_day)
                    return
            if message.kind is not OutKind.OPENER:
                await messenger.mark_read(account_id, peer)
            await self._show_typing(account_id, peer, message.content)
            sending = True
            sent = await messenger.send_message(account_id, peer, message.content)
        except Exception as exc:
            if not isinstance(exc, TelegramError):
                log.exception("account %s: sending message %s failed", account_id, message.id)
            elif isinstance(exc, (TelegramUnavailable, AccountNotConnected)) or (
                type(exc) is TelegramError
            ):
                log.warning("account %s: message %s not sent: %s", account_id, message.id, exc)
            if not sending or isinstance(exc, _REFUSED):
                # Certainly not taken by Telegram. After any other failure of the send
                # itself it may have been: the slot stays spent and the next try looks in
                # the chat first.
                await self._give_back_slot(account_id, slot_day)
            await self._failed(account_id, message, exc, attempted=sending)
            return
        now = self._clock.now()
        await self._outbox.record_sent(message, sent.telegram_message_id, now)
        gap = self._quota.min_delay * (1 + self._rng.uniform(0, self._gap_jitter))
        self._wake_at[account_id] = now + gap

    async def _give_back_slot(self, account_id: int, day: date | None) -> None:
        """Best effort: a slot not given back only means one message fewer that day."""
        if day is None:
            return
        try:
            async with self._uow() as uow:
                released = await uow.accounts.release_send_slot(account_id, today=day)
                await uow.commit()
        except Exception as exc:
            log.warning("account %s: could not give back a send slot: %s", account_id, exc)
            return
        if released:
            log.debug("account %s: send slot of %s given back", account_id, day)
            # Below the cap again, perhaps: the AI's messages may be claimed once more.
            self._cap_used.pop(account_id, None)

    async def _show_typing(self, account_id: int, peer: Peer, text: str) -> None:
        remaining = self._typing.duration(text, self._rng)
        while remaining > 0:
            await self._messenger.send_typing(account_id, peer)
            step = min(remaining, self._typing.repeat_seconds)
            await self._clock.sleep(step)
            remaining -= step

    # --- outcomes ------------------------------------------------------------------------

    async def _failed(
        self, account_id: int, message: Message, error: Exception, *, attempted: bool
    ) -> None:
        """What a failure means for the message and the account; never raises it on."""
        now = self._clock.now()
        outbox = self._outbox
        if attempted:
            message.attempts += 1
        if isinstance(error, RateLimited):
            # The account sleeps (stored: a restart keeps it); the message is due again
            # when the wait ends. It keeps its place in its dialog: claims never take a
            # dialog's later messages before it.
            until = await self._flood_wait(account_id, now, error)
            self._wake_at[account_id] = until
            log.warning("account %s: %s; message %s waits", account_id, error, message.id)
            await outbox.back_to_pending(message, until, str(error))
        elif isinstance(error, SpamLimited):
            await outbox.back_to_pending(message, now, str(error))
            await self._spam.limited(account_id, error)
        elif isinstance(error, RecipientUnreachable):
            await outbox.fail(message, error)
        elif isinstance(error, (SessionInvalid, AccountDeactivated)):
            await outbox.back_to_pending(message, now, str(error))
            await self._pool.report_failure(account_id, error)
        elif isinstance(error, (TelegramUnavailable, AccountNotConnected)):
            self._wake_at[account_id] = now + self._retry
            await outbox.back_to_pending(message, now + self._retry, str(error))
        else:
            # Unexplained (an unknown Telegram refusal, a bug): retried a few times, then
            # given up loudly rather than retried forever.
            if not attempted:
                message.attempts += 1
            if message.attempts >= MAX_ATTEMPTS:
                reason = RecipientUnreachable(RecipientUnreachable.INVALID, repr(error))
                await outbox.fail(message, reason)
                return
            self._wake_at[account_id] = now + self._retry
            await outbox.back_to_pending(message, now + self._retry, repr(error))

    async def _flood_wait(self, account_id: int, now: datetime, error: RateLimited) -> datetime:
        """Store the account's FloodWait; tell the admin when a long one begins. Returns
        when the account may send again."""
        until, told = await store_flood_wait(self._uow, account_id, now, error.retry_after)
        if told is not None:
            await self._outbox.tell(told)
        return until
