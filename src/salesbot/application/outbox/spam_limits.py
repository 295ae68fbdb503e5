"""Telegram flagged an account for spam (PeerFlood): it rests, its cold openers move.

The account is `limited` for the cool-down and the admin told. Its pending openers to
people it never talked to (no message sent or received in the dialog yet) move to other
running accounts, most quota left first, each re-resolving the prospect itself (access
hashes are per account). Dialogs already started stay: the prospect knows that account.
"""

from __future__ import annotations

import itertools
import logging
from datetime import timedelta

from salesbot.application.accounts.run_accounts import AccountPool
from salesbot.application.errors import RecipientUnreachable, SpamLimited, TelegramError
from salesbot.application.outbox.delivery import Outbox
from salesbot.application.ports import (
    Clock,
    TelegramMessenger,
    UnitOfWork,
    UnitOfWorkFactory,
)
from salesbot.domain.account import AccountStatus
from salesbot.domain.events import AccountLimited
from salesbot.domain.message import Delivery, Direction, OutKind
from salesbot.domain.quota import SendQuota

log = logging.getLogger(__name__)


class SpamLimits:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        messenger: TelegramMessenger,
        pool: AccountPool,
        outbox: Outbox,
        clock: Clock,
        quota: SendQuota,
        *,
        cooldown: timedelta = timedelta(hours=24),
    ) -> None:
        self._uow = uow_factory
        self._messenger = messenger
        self._pool = pool
        self._outbox = outbox
        self._clock = clock
        self._quota = quota
        self._cooldown = cooldown

    async def limited(self, account_id: int, error: SpamLimited) -> None:
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
            await self._outbox.tell(event)
        await self._move_unstarted_openers(account_id)

    async def _move_unstarted_openers(self, account_id: int) -> None:
        targets = await self._other_senders(account_id)
        async with self._uow() as uow:
            pending = await uow.messages.list_by_delivery(Delivery.PENDING, account_id=account_id)
            movable = []
            for message in pending:
                if message.kind is OutKind.OPENER and not await started(uow, message.dialog_id):
                    dialog = await uow.dialogs.get(message.dialog_id)
                    if dialog is not None and dialog.is_open:
                        movable.append((message.id, message.dialog_id, dialog.target_username))
        if not movable:
            return
        if not targets:
            log.warning(
                "account %s: %d openers wait for its cool-down: no other account can take them",
                account_id, len(movable),
            )
            return
        moved = 0
        for (message_id, dialog_id, username), target in zip(
            movable, itertools.cycle(targets), strict=False
        ):
            assert message_id is not None
            try:
                if await self._move(account_id, target, message_id, dialog_id, username):
                    moved += 1
            except Exception:
                log.exception("moving dialog %s to account %s failed", dialog_id, target)
        log.info("account %s: moved %d of %d openers", account_id, moved, len(movable))

    async def _move(
        self, source: int, target: int, message_id: int, dialog_id: int, username: str
    ) -> bool:
        async with self._uow() as uow:
            peer = await uow.peers.get(target, username)
        if peer is None:
            try:
                peer = await self._messenger.resolve_username(target, username)
            except RecipientUnreachable as exc:
                async with self._uow() as uow:
                    message = await uow.messages.get(message_id)
                if message is not None and message.delivery is Delivery.PENDING:
                    await self._outbox.fail(message, exc)
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
                or await started(uow, dialog_id)
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
                allowance = self._quota.allowance(
                    account.quota_state, now, created_at=account.created_at
                )
                ranked.append((-allowance.remaining, other))
        return [other for _, other in sorted(ranked)]


async def started(uow: UnitOfWork, dialog_id: int) -> bool:
    """Whether anything was said in the dialog yet (a message sent, or one received)."""
    messages = await uow.messages.list_for_dialog(dialog_id)
    return any(
        m.direction is Direction.IN or m.delivery in (Delivery.SENT, Delivery.SENDING)
        for m in messages
    )
