"""Messages left `sending`: sent or not? The chat says, so none is ever sent twice.

A message is `sending` from the moment it is claimed until its fate is written down. A
crash, `kill -9` or an answer lost on the network leaves it there. Before anything is
sent again, the chat's recent history is read: our own message with the same text, not
older than the message and not already recorded for another message of the dialog, means
it went out (its Telegram id is recorded); none means it did not (back to pending).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from salesbot.application.errors import TelegramError
from salesbot.application.outbox.delivery import Outbox
from salesbot.application.ports import (
    ChatHistoryItem,
    Clock,
    TelegramMessenger,
    UnitOfWorkFactory,
)
from salesbot.domain.message import Delivery, Message
from salesbot.domain.peer import Peer

log = logging.getLogger(__name__)

SENT_MATCH_SLACK = timedelta(minutes=5)
"""Telegram's clock and ours may differ: a chat message this much older still matches."""


@dataclass(frozen=True)
class Settlement:
    settled: int
    """Messages found sent (recorded) or not (back to pending)."""
    left: int
    """Messages whose chat could not be read now: still `sending`, to be settled later."""


class InterruptedSends:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        messenger: TelegramMessenger,
        outbox: Outbox,
        clock: Clock,
        *,
        history_window: int = 30,
    ) -> None:
        self._uow = uow_factory
        self._messenger = messenger
        self._outbox = outbox
        self._clock = clock
        self._window = history_window

    async def settle(self, account_id: int) -> Settlement:
        """Settle the account's `sending` messages (the caller makes sure none of them is
        being sent right now). One whose chat cannot be read now stays `sending` for a
        later try; until then it holds its dialog's later messages back."""
        async with self._uow() as uow:
            stuck = await uow.messages.list_by_delivery(Delivery.SENDING, account_id=account_id)
            checks = []
            for message in stuck:
                dialog = await uow.dialogs.get(message.dialog_id)
                peer = await uow.peers.get(account_id, dialog.target_username) if dialog else None
                checks.append((message, peer))
        settled = left = 0
        for message, peer in checks:
            if peer is None:  # never resolved, so never sent
                await self._outbox.back_to_pending(message, self._clock.now(), "interrupted")
                settled += 1
                continue
            try:
                found = await self.find_in_chat(account_id, message, peer)
            except TelegramError as exc:
                log.warning(
                    "account %s: cannot check message %s against the chat (%s); "
                    "it stays `sending` until it can",
                    account_id, message.id, exc,
                )
                left += 1
                continue
            if found is not None:
                await self._outbox.record_sent(message, found.telegram_message_id, found.date)
                log.info("message %s was sent before the interruption", message.id)
            else:
                await self._outbox.back_to_pending(message, self._clock.now(), "interrupted")
                log.info("message %s was not sent before the interruption", message.id)
            settled += 1
        return Settlement(settled, left)

    async def find_in_chat(
        self, account_id: int, message: Message, peer: Peer
    ) -> ChatHistoryItem | None:
        """Our message in the chat with `peer`, if it is there."""
        async with self._uow() as uow:
            known = await uow.messages.list_for_dialog(message.dialog_id, last=self._window * 2)
        recorded = {
            m.telegram_message_id
            for m in known
            if m.telegram_message_id is not None and m.id != message.id
        }
        history = await self._messenger.recent_messages(account_id, peer, limit=self._window)
        since = message.timestamp - SENT_MATCH_SLACK
        matches = [
            item
            for item in history
            if item.outgoing
            and message.is_sent_as(item.text)
            and item.date >= since
            and item.telegram_message_id not in recorded
        ]
        return min(matches, key=lambda item: item.telegram_message_id) if matches else None
