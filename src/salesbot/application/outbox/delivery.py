"""Writing down what became of an outgoing message: sent, back to pending, or failed."""

from __future__ import annotations

import logging
from datetime import datetime

from salesbot.application.errors import RecipientUnreachable
from salesbot.application.ports import AdminNotifier, UnitOfWorkFactory
from salesbot.domain.events import DialogFailed, Event
from salesbot.domain.message import Delivery, Message

log = logging.getLogger(__name__)


class Outbox:
    def __init__(self, uow_factory: UnitOfWorkFactory, notifier: AdminNotifier) -> None:
        self._uow = uow_factory
        self._notifier = notifier

    async def record_sent(self, message: Message, telegram_id: int, at: datetime) -> None:
        """`sent`, with its Telegram id; the dialog's activity and the account's last send
        move to `at` (the minimum delay counts from the send, not from its claim)."""
        message.delivery = Delivery.SENT
        message.telegram_message_id = telegram_id
        message.sent_at = at
        message.error = ""
        async with self._uow() as uow:
            await uow.messages.update(message, dialog_activity_at=at)
            if message.account_id is not None:
                await uow.accounts.mark_sent(message.account_id, at)
            await uow.commit()

    async def back_to_pending(self, message: Message, send_after: datetime, error: str) -> None:
        """Not sent: it waits again, due at `send_after`."""
        message.delivery = Delivery.PENDING
        message.send_after = send_after
        message.error = error
        async with self._uow() as uow:
            await uow.messages.update(message)
            await uow.commit()

    async def fail(self, message: Message, error: RecipientUnreachable) -> None:
        """The prospect cannot be written to: the message and its dialog fail (the dialog's
        other queued messages are cancelled) and the admin is told why."""
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
            await self.tell(event)

    async def tell(self, event: Event) -> None:
        try:
            await self._notifier.notify(event)
        except Exception:
            log.exception("telling the admin %r failed", event)
