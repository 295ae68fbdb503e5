"""The outbox dispatcher: the only code that sends messages to prospects.

Per account, one message at a time: claim the next due message and reserve a send slot in
the SAME transaction (no slot: nothing changes, the message stays pending), commit it as
`sending`, mark the chat read, show "typing..." for a human-like time, send, record the
Telegram id as `sent`. Two units of work per message on the happy path.

Every Telegram error becomes an outcome, never a crash nor a silent loss. A message left
`sending` (a crash, `kill -9`, a lost answer) is checked against the chat before anything
is sent again, so no message goes out twice.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Protocol

from salesbot.application.account_pool import AccountPool
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
from salesbot.application.ports import (
    AdminNotifier,
    ChatHistoryItem,
    Clock,
    SentMessage,
    TelegramMessenger,
    UnitOfWork,
    UnitOfWorkFactory,
)
from salesbot.domain.account import AccountStatus
from salesbot.domain.dialog import Dialog, DialogStatus
from salesbot.domain.events import AccountLimited, DialogFailed, Event, WaitingForQuota
from salesbot.domain.message import Delivery, Direction, Message, OutKind
from salesbot.domain.peer import Peer
from salesbot.domain.quota import SendQuota

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
"""Unexplained failures of one message before it is given up (and the admin told)."""
SENT_MATCH_SLACK = timedelta(minutes=5)
"""Telegram's clock and ours may differ: a chat message this much older still matches."""


class OpeningHours(Protocol):
    """When cold openers may go (settings.WORKING_HOURS); `start` is None for always."""

    start: time | None

    def contains(self, moment: time) -> bool: ...


@dataclass(frozen=True)
class TypingPace:
    """How long "typing..." shows before a message: proportional to its length, with
    jitter, capped. Telegram shows one chat action for about 5 s, so it is repeated."""

    base_seconds: float = 1.5
    chars_per_second: float = 12.0
    jitter: float = 0.25
    max_seconds: float = 15.0
    repeat_seconds: float = 4.5

    def duration(self, text: str, rng: random.Random) -> float:
        if self.max_seconds <= 0:
            return 0.0
        seconds = self.base_seconds + len(text) / self.chars_per_second
        seconds *= 1 + rng.uniform(-self.jitter, self.jitter)
        return max(0.0, min(self.max_seconds, seconds))


NO_TYPING = TypingPace(max_seconds=0)


@dataclass
class _Claimed:
    message: Message
    dialog: Dialog
    peer: Peer | None
    cancelled: bool = False


class Dispatcher:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        messenger: TelegramMessenger,
        pool: AccountPool,
        notifier: AdminNotifier,
        clock: Clock,
        quota: SendQuota,
        *,
        opening_hours: OpeningHours | None = None,
        limited_cooldown: timedelta = timedelta(hours=24),
        typing: TypingPace | None = None,
        rng: random.Random | None = None,
        send_gap_jitter: float = 0.2,
        idle_seconds: float = 5.0,
        retry_seconds: float = 60.0,
        supervise_seconds: float = 1.0,
        history_window: int = 30,
    ) -> None:
        self._uow = uow_factory
        self._messenger = messenger
        self._pool = pool
        self._notifier = notifier
        self._clock = clock
        self._quota = quota
        self._tz: tzinfo = quota.tz
        self._hours = opening_hours
        self._cooldown = limited_cooldown
        self._typing = typing or TypingPace()
        self._rng = rng or random.Random()
        self._gap_jitter = send_gap_jitter
        self._idle = timedelta(seconds=idle_seconds)
        self._retry = timedelta(seconds=retry_seconds)
        self._supervise_seconds = supervise_seconds
        self._history_window = history_window
        self._locks: dict[int, asyncio.Lock] = {}
        self._wake_at: dict[int, datetime] = {}
        self._paused_until: dict[int, datetime] = {}
        self._told_waiting: dict[int, date] = {}

    # --- public --------------------------------------------------------------------------

    async def dispatch_once(self, account_id: int) -> bool:
        """Handle the account's next due message; False when there was nothing it could do."""
        async with self._lock(account_id):
            now = self._clock.now()
            paused = self._paused_until.get(account_id)
            if paused is not None and paused > now:
                self._wake_at[account_id] = paused
                return False
            claimed = await self._claim(account_id, now)
            if claimed is None:
                return False
            if claimed.cancelled:
                return True
            await self._deliver(account_id, claimed)
            return True

    async def reconcile_interrupted(self) -> int:
        """Settle messages left `sending` by a crash, for every account running here;
        returns how many were settled. An account not running keeps them until it runs."""
        settled = 0
        for account_id in sorted(self._pool.owned()):
            settled += await self._reconcile(account_id)
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
        try:
            await self._reconcile(account_id)
        except Exception:
            log.exception("account %s: reconciling interrupted sends failed", account_id)
        while True:
            try:
                await self.dispatch_once(account_id)
            except Exception:
                log.exception("account %s: dispatching failed", account_id)
                self._wake_at[account_id] = self._clock.now() + self._idle
            await self._clock.sleep(self._pause(account_id))

    def _pause(self, account_id: int) -> float:
        wake = self._wake_at.pop(account_id, None)
        if wake is None:
            return 0.0
        return max(0.0, (wake - self._clock.now()).total_seconds())

    def _lock(self, account_id: int) -> asyncio.Lock:
        return self._locks.setdefault(account_id, asyncio.Lock())

    # --- claiming ------------------------------------------------------------------------

    def _openers_allowed(self, now: datetime) -> bool:
        return self._hours is None or self._hours.contains(now.astimezone(self._tz).time())

    def _next_opening(self, moment: datetime) -> datetime:
        """`moment`, or the start of the next working-hours window when it falls outside."""
        if self._openers_allowed(moment) or self._hours is None or self._hours.start is None:
            return moment
        local = moment.astimezone(self._tz)
        start = datetime.combine(local.date(), self._hours.start, tzinfo=self._tz)
        if start < local:
            start += timedelta(days=1)
        return start

    async def _claim(self, account_id: int, now: datetime) -> _Claimed | None:
        quota = self._quota
        waiting: tuple[Message, Dialog | None, datetime] | None = None
        async with self._uow() as uow:
            account = await uow.accounts.get(account_id)
            if account is None or account.status is not AccountStatus.ACTIVE:
                self._wake_at[account_id] = now + self._idle
                return None
            limit = quota.daily_limit(now, account.created_at)
            state = account.quota_state
            openers = self._openers_allowed(now)
            if not quota.may_send(state, now, limit):
                next_at = quota.next_allowed(state, now, limit)
                self._wake_at[account_id] = next_at
                if quota.remaining(state, now, limit) == 0 and (
                    self._told_waiting.get(account_id) != quota.day_of(now)
                ):
                    # Claimed only to learn which message waits; leaving rolls it back.
                    message = await uow.messages.claim_next_due(
                        account_id, now, include_openers=openers
                    )
                    if message is not None:
                        dialog = await uow.dialogs.get(message.dialog_id)
                        waiting = (message, dialog, next_at)
                if waiting is None:
                    return None
            else:
                message = await uow.messages.claim_next_due(
                    account_id, now, include_openers=openers
                )
                if message is None:
                    upcoming = await uow.messages.next_pending_at(account_id)
                    wake = now + self._idle
                    if upcoming is not None and now < upcoming < wake:
                        wake = upcoming
                    self._wake_at[account_id] = wake
                    return None
                dialog = await uow.dialogs.get(message.dialog_id)
                if dialog is None or not _may_talk(dialog, message):
                    message.delivery = Delivery.CANCELLED
                    message.error = f"dialog is {dialog.status.value if dialog else 'gone'}"
                    await uow.messages.update(message)
                    await uow.commit()
                    log.info("message %s cancelled: %s", message.id, message.error)
                    return _Claimed(message, dialog or Dialog(account_id, ""), None, True)
                if not await uow.accounts.reserve_send_slot(
                    account_id,
                    now=now,
                    today=quota.day_of(now),
                    daily_limit=limit,
                    min_delay=quota.min_delay,
                ):
                    # Someone else took the slot first: nothing changes, try again shortly.
                    self._wake_at[account_id] = max(
                        quota.next_allowed(state, now, limit), now + timedelta(seconds=1)
                    )
                    return None
                peer = await uow.peers.get(account_id, dialog.target_username)
                await uow.commit()
                return _Claimed(message, dialog, peer)
        await self._tell_waiting(account_id, now, *waiting)
        return None

    async def _tell_waiting(
        self,
        account_id: int,
        now: datetime,
        message: Message,
        dialog: Dialog | None,
        next_at: datetime,
    ) -> None:
        self._told_waiting[account_id] = self._quota.day_of(now)
        if message.kind is OutKind.OPENER:
            next_at = self._next_opening(next_at)
        log.info(
            "account %s is out of quota for today; message %s waits until %s",
            account_id,
            message.id,
            next_at.isoformat(),
        )
        await self._tell(
            WaitingForQuota(
                dialog_id=message.dialog_id,
                username=dialog.target_username if dialog else "",
                next_at=next_at,
            )
        )

    # --- sending -------------------------------------------------------------------------

    async def _deliver(self, account_id: int, claimed: _Claimed) -> None:
        message, dialog, peer = claimed.message, claimed.dialog, claimed.peer
        messenger = self._messenger
        sending = False
        try:
            if peer is None:
                peer = await messenger.resolve_username(account_id, dialog.target_username)
                async with self._uow() as uow:
                    await uow.peers.put(peer)
                    await uow.commit()
            if message.attempts:
                found = await self._find_in_chat(account_id, message, peer)
                if found is not None:
                    log.info("message %s was sent before all; recording it", message.id)
                    await self._record_sent(message, found.telegram_message_id, found.date)
                    return
            if message.kind is not OutKind.OPENER:
                await messenger.mark_read(account_id, peer)
            await self._show_typing(account_id, peer, message.content)
            sending = True
            sent: SentMessage = await messenger.send_message(account_id, peer, message.content)
        except TelegramError as exc:
            await self._failed(account_id, message, dialog, exc, attempted=sending)
            return
        except Exception as exc:
            log.exception("account %s: sending message %s failed", account_id, message.id)
            await self._failed(account_id, message, dialog, exc, attempted=sending)
            return
        await self._record_sent(message, sent.telegram_message_id, self._clock.now())
        gap = self._quota.min_delay * (1 + self._rng.uniform(0, self._gap_jitter))
        self._wake_at[account_id] = self._clock.now() + gap

    async def _show_typing(self, account_id: int, peer: Peer, text: str) -> None:
        remaining = self._typing.duration(text, self._rng)
        while remaining > 0:
            await self._messenger.send_typing(account_id, peer)
            step = min(remaining, self._typing.repeat_seconds)
            await self._clock.sleep(step)
            remaining -= step

    async def _record_sent(self, message: Message, telegram_id: int, at: datetime) -> None:
        message.delivery = Delivery.SENT
        message.telegram_message_id = telegram_id
        message.sent_at = at
        message.error = ""
        async with self._uow() as uow:
            await uow.messages.update(message)
            dialog = await uow.dialogs.get(message.dialog_id)
            if dialog is not None:
                dialog.last_activity_at = at
                await uow.dialogs.update(dialog)
            await uow.commit()

    # --- outcomes ------------------------------------------------------------------------

    async def _failed(
        self,
        account_id: int,
        message: Message,
        dialog: Dialog,
        error: Exception,
        *,
        attempted: bool,
    ) -> None:
        now = self._clock.now()
        if attempted:
            message.attempts += 1
        if isinstance(error, RateLimited):
            until = now + timedelta(seconds=error.retry_after)
            self._paused_until[account_id] = until
            self._wake_at[account_id] = until
            log.warning("account %s: %s; message %s waits", account_id, error, message.id)
            await self._back_to_pending(message, until, str(error))
        elif isinstance(error, SpamLimited):
            await self._back_to_pending(message, now, str(error))
            await self._spam_limited(account_id, error)
        elif isinstance(error, RecipientUnreachable):
            await self._unreachable(message, error)
        elif isinstance(error, (SessionInvalid, AccountDeactivated)):
            await self._back_to_pending(message, now, str(error))
            await self._pool.report_failure(account_id, error)
        elif isinstance(error, (TelegramUnavailable, AccountNotConnected)):
            self._wake_at[account_id] = now + self._retry
            log.warning("account %s: %s; message %s retries later", account_id, error, message.id)
            await self._back_to_pending(message, now + self._retry, str(error))
        else:
            # Unexplained (an unknown Telegram refusal, a bug): retried a few times, then
            # given up loudly rather than retried forever.
            if not attempted:
                message.attempts += 1
            if message.attempts >= MAX_ATTEMPTS:
                await self._unreachable(
                    message, RecipientUnreachable(RecipientUnreachable.INVALID, repr(error))
                )
                return
            self._wake_at[account_id] = now + self._retry
            await self._back_to_pending(message, now + self._retry, repr(error))

    async def _back_to_pending(self, message: Message, send_after: datetime, error: str) -> None:
        message.delivery = Delivery.PENDING
        message.send_after = send_after
        message.error = error
        async with self._uow() as uow:
            await uow.messages.update(message)
            await uow.commit()

    async def _unreachable(self, message: Message, error: RecipientUnreachable) -> None:
        message.delivery = Delivery.FAILED
        message.error = str(error)
        event = None
        async with self._uow() as uow:
            await uow.messages.update(message)
            dialog = await uow.dialogs.get(message.dialog_id)
            if dialog is not None and dialog.is_open:
                dialog.fail(error.reason)
                await uow.dialogs.update(dialog)
                await uow.messages.cancel_pending(message.dialog_id)
                event = DialogFailed(
                    dialog_id=message.dialog_id,
                    username=dialog.target_username,
                    reason=error.reason,
                )
            await uow.commit()
        log.info("message %s failed: %s", message.id, error)
        if event is not None:
            await self._tell(event)

    async def _spam_limited(self, account_id: int, error: SpamLimited) -> None:
        """The account rests for the cool-down; its openers to people it never talked to
        move to other accounts, re-resolved there (access hashes are per account)."""
        now = self._clock.now()
        until = now + self._cooldown
        event = None
        async with self._uow() as uow:
            account = await uow.accounts.get(account_id)
            if account is not None and account.status in (
                AccountStatus.ACTIVE,
                AccountStatus.LIMITED,
            ):
                account.limit(until)
                await uow.accounts.update(account)
                await uow.commit()
                event = AccountLimited(account_id=account_id, phone=account.phone, until=until)
        log.warning("account %s is limited until %s: %s", account_id, until.isoformat(), error)
        if event is not None:
            await self._tell(event)
        await self._move_unstarted_openers(account_id)

    async def _move_unstarted_openers(self, account_id: int) -> None:
        targets = await self._other_senders(account_id)
        async with self._uow() as uow:
            pending = await uow.messages.list_by_delivery(Delivery.PENDING, account_id=account_id)
            movable = []
            for message in pending:
                if message.kind is OutKind.OPENER and not await _started(uow, message.dialog_id):
                    dialog = await uow.dialogs.get(message.dialog_id)
                    if dialog is not None and dialog.is_open:
                        movable.append((message.id, dialog.id, dialog.target_username))
        if not movable:
            return
        if not targets:
            log.warning(
                "account %s: %d openers wait for its cool-down: no other account can take them",
                account_id,
                len(movable),
            )
            return
        moved = 0
        for (message_id, dialog_id, username), target in zip(
            movable, itertools.cycle(targets), strict=False
        ):
            try:
                if await self._move_opener(account_id, target, message_id, dialog_id, username):
                    moved += 1
            except Exception:
                log.exception("moving dialog %s to account %s failed", dialog_id, target)
        log.info("account %s: moved %d of %d openers", account_id, moved, len(movable))

    async def _move_opener(
        self,
        source: int,
        target: int,
        message_id: int | None,
        dialog_id: int | None,
        username: str,
    ) -> bool:
        assert message_id is not None and dialog_id is not None
        async with self._uow() as uow:
            peer = await uow.peers.get(target, username)
        if peer is None:
            try:
                peer = await self._messenger.resolve_username(target, username)
            except RecipientUnreachable as exc:
                async with self._uow() as uow:
                    message = await uow.messages.get(message_id)
                if message is not None and message.delivery is Delivery.PENDING:
                    await self._unreachable(message, exc)
                return False
            except TelegramError as exc:
                log.warning(
                    "account %s cannot resolve @%s to take it over: %s", target, username, exc
                )
                return False
        async with self._uow() as uow:
            message = await uow.messages.get(message_id)
            dialog = await uow.dialogs.get(dialog_id)
            if (
                message is None
                or dialog is None
                or message.delivery is not Delivery.PENDING
                or message.account_id != source
                or dialog.account_id != source
                or await _started(uow, dialog_id)
            ):
                return False
            await uow.peers.put(peer)
            await uow.dialogs.reassign(dialog_id, target)
            await uow.commit()
        log.info("dialog %s moved from account %s to %s", dialog_id, source, target)
        return True

    async def _other_senders(self, account_id: int) -> list[int]:
        """Running active accounts other than `account_id`, most quota left first."""
        now = self._clock.now()
        ranked = []
        async with self._uow() as uow:
            for other in sorted(self._pool.owned() - {account_id}):
                account = await uow.accounts.get(other)
                if account is None or account.status is not AccountStatus.ACTIVE:
                    continue
                limit = self._quota.daily_limit(now, account.created_at)
                left = self._quota.remaining(account.quota_state, now, limit)
                ranked.append((-left, other))
        return [other for _, other in sorted(ranked)]

    # --- crash safety --------------------------------------------------------------------

    async def _reconcile(self, account_id: int) -> int:
        async with self._lock(account_id):
            async with self._uow() as uow:
                stuck = await uow.messages.list_by_delivery(Delivery.SENDING, account_id=account_id)
                checks = []
                for message in stuck:
                    dialog = await uow.dialogs.get(message.dialog_id)
                    peer = (
                        await uow.peers.get(account_id, dialog.target_username) if dialog else None
                    )
                    checks.append((message, peer))
            settled = 0
            for message, peer in checks:
                if peer is None:
                    # Never resolved, so never sent.
                    await self._back_to_pending(message, self._clock.now(), "interrupted")
                    settled += 1
                    continue
                try:
                    found = await self._find_in_chat(account_id, message, peer)
                except TelegramError as exc:
                    log.warning(
                        "account %s: cannot check message %s against the chat (%s); "
                        "it stays `sending` until it can",
                        account_id,
                        message.id,
                        exc,
                    )
                    continue
                if found is not None:
                    await self._record_sent(message, found.telegram_message_id, found.date)
                    log.info("message %s was sent before the interruption", message.id)
                else:
                    await self._back_to_pending(message, self._clock.now(), "interrupted")
                    log.info("message %s was not sent before the interruption", message.id)
                settled += 1
            return settled

    async def _find_in_chat(
        self, account_id: int, message: Message, peer: Peer
    ) -> ChatHistoryItem | None:
        """Our message in the chat: outgoing, same text, not older than the message, and
        not already recorded for another message of the dialog."""
        async with self._uow() as uow:
            known = await uow.messages.list_for_dialog(
                message.dialog_id, last=self._history_window * 2
            )
        recorded = {
            m.telegram_message_id
            for m in known
            if m.telegram_message_id is not None and m.id != message.id
        }
        history = await self._messenger.recent_messages(
            account_id, peer, limit=self._history_window
        )
        text = message.content.strip()
        since = message.timestamp - SENT_MATCH_SLACK
        matches = [
            item
            for item in history
            if item.outgoing
            and item.text.strip() == text
            and item.date >= since
            and item.telegram_message_id not in recorded
        ]
        return min(matches, key=lambda item: item.telegram_message_id) if matches else None

    async def _tell(self, event: Event) -> None:
        try:
            await self._notifier.notify(event)
        except Exception:
            log.exception("telling the admin %r failed", event)


def _may_talk(dialog: Dialog, message: Message) -> bool:
    """A closed dialog never talks; a paused one only through the operator's own words."""
    if dialog.status is DialogStatus.ACTIVE:
        return True
    return dialog.status is DialogStatus.PAUSED and message.kind is OutKind.MANUAL


async def _started(uow: UnitOfWork, dialog_id: int) -> bool:
    """Whether anything was said in the dialog yet (a message sent, or one received)."""
    messages = await uow.messages.list_for_dialog(dialog_id)
    return any(
        m.direction is Direction.IN or m.delivery in (Delivery.SENT, Delivery.SENDING)
        for m in messages
    )
