"""Delivering the queued webhook events.

At least once: an event is marked delivered only after the receiver answered 2xx, so a
crash between the two sends it again (the receiver dedupes by the event's `id`). In order
per dialog: only each dialog's oldest undelivered event is ever due, so a dialog waits
while its earlier event is retried, and other dialogs go on. A failed try sets the event's
own `next_attempt_at` (`retry_delay`: exponential, capped at an hour, jittered), stored in
the database so a restart keeps the back-off; no event is ever dropped. A round stops at
its first failure: when the receiver is down, each poll costs one request, not one per
waiting dialog. The admin hears once when an event has been refused for `alarm_after`
(whether the receiver is down or refuses that one event while taking the others: its
dialog's later events wait behind it), and once when every refused event has gone.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from salesbot.application.errors import WebhookUndelivered
from salesbot.application.ports import AdminNotifier, Clock, UnitOfWorkFactory, WebhookSender
from salesbot.domain.events import WebhookFailing, WebhookRecovered
from salesbot.domain.webhook import WebhookEvent, retry_delay

logger = logging.getLogger(__name__)


async def enable_webhook(uow_factory: UnitOfWorkFactory, enabled: bool) -> None:
    """Start or stop the database making events (WEBHOOK_URL set or not), at start."""
    async with uow_factory() as uow:
        await uow.webhook_events.enable(enabled)
        await uow.commit()


class WebhookDeliverer:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        sender: WebhookSender,
        notifier: AdminNotifier,
        clock: Clock,
        *,
        poll_seconds: float = 2.0,
        failing_poll_seconds: float = 10.0,
        batch: int = 50,
        alarm_after: timedelta = timedelta(minutes=15),
        keep_delivered: timedelta = timedelta(days=7),
        prune_every: timedelta = timedelta(hours=1),
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._uow_factory = uow_factory
        self._sender = sender
        self._notifier = notifier
        self._clock = clock
        self._poll = poll_seconds
        self._failing_poll = failing_poll_seconds
        self._batch = batch
        self._alarm_after = alarm_after
        self._keep = keep_delivered
        self._prune_every = prune_every
        self._jitter = jitter
        self._refused: dict[int, datetime] = {}
        """The events refused and not delivered since, with their first refusal."""
        self._last_error = ""
        self._told = False
        self._pruned_at: datetime | None = None

    async def run_forever(self) -> None:
        await enable_webhook(self._uow_factory, True)
        while True:
            try:
                more = await self.run_once()
            except Exception:
                logger.exception("webhook round failed; the next one runs as usual")
                more = False
            if not more:
                await self._clock.sleep(self.pause())

    def pause(self) -> float:
        """Seconds to the next round when nothing more is due now: `poll_seconds`, or
        `failing_poll_seconds` while the receiver fails (its retries are seconds to an hour
        apart, and a long backlog makes each look for what is due cost more)."""
        return self._failing_poll if self._refused else self._poll

    async def run_once(self) -> bool:
        """One round: deliver what is due, until the first failure. Whether more may be
        due at once (something went and nothing failed: the next event of a dialog just
        delivered is due now)."""
        now = self._clock.now()
        await self._prune(now)
        async with self._uow_factory() as uow:
            due = await uow.webhook_events.due(now, limit=self._batch)
        for event in due:
            if not await self._deliver(event):
                await self._alarm(self._clock.now())
                return False
        await self._alarm(now)
        return bool(due)

    async def _deliver(self, event: WebhookEvent) -> bool:
        try:
            await self._sender.send(event)
        except WebhookUndelivered as error:
            await self._failed(event, str(error))
            return False
        async with self._uow_factory() as uow:
            await uow.webhook_events.delivered(event.id, self._clock.now())
            await uow.commit()
        await self._recovered(event.id)
        return True

    async def _failed(self, event: WebhookEvent, reason: str) -> None:
        now = self._clock.now()
        delay = retry_delay(event.attempts + 1, self._jitter())
        async with self._uow_factory() as uow:
            await uow.webhook_events.failed(
                event.id, error=reason, retry_at=now + timedelta(seconds=delay)
            )
            await uow.commit()
        logger.warning(
            "webhook event %s (%s, dialog %s) not delivered (try %s): %s; next try in %.0f s",
            event.id,
            event.kind.value,
            event.dialog_id,
            event.attempts + 1,
            reason,
            delay,
        )
        self._refused.setdefault(event.id, now)
        self._last_error = reason

    async def _alarm(self, now: datetime) -> None:
        """Tell the admin once an event has been refused for `alarm_after` (checked each
        round: the next try may be long after that)."""
        if self._told or not self._refused:
            return
        failing_for = now - min(self._refused.values())
        if failing_for < self._alarm_after:
            return
        self._told = True
        async with self._uow_factory() as uow:
            waiting = await uow.webhook_events.undelivered()
        minutes = int(failing_for.total_seconds() // 60)
        await self._notifier.notify(WebhookFailing(self._last_error, minutes, waiting))

    async def _recovered(self, event_id: int) -> None:
        if event_id not in self._refused:
            return
        since = min(self._refused.values())
        del self._refused[event_id]
        if self._refused:
            return  # another refused event still waits
        told, self._told = self._told, False
        if told:
            down = self._clock.now() - since
            await self._notifier.notify(WebhookRecovered(max(1, round(down.total_seconds() / 60))))

    async def _prune(self, now: datetime) -> None:
        if self._pruned_at is not None and now - self._pruned_at < self._prune_every:
            return
        self._pruned_at = now
        async with self._uow_factory() as uow:
            gone = await uow.webhook_events.prune(now - self._keep)
            await uow.commit()
        if gone:
            logger.info("webhook: %s delivered event(s) older than %s forgotten", gone, self._keep)
