"""Follow-ups: a prospect went quiet after our message; nudge them, at most MAX_FOLLOW_UPS.

The conversation's queries find active dialogs whose newest message is ours, sent at least
FOLLOW_UP_AFTER_HOURS ago, with fewer follow-ups than the limit and nothing of ours still
queued. Opted-out, paused, stopped and finished dialogs are never among them, and the
do-not-contact list is checked once more. The model writes each follow-up; it is queued
only if the dialog is still as it was when the model started (no new message, no new
status, no other follow-up).

Follow-ups are cold: they are written only within the working hours and days
(WorkingHours), so the model never writes one hours before it may go. One due at night is
not lost: the dialog is still silent when the window opens, and the round that runs at the
opening writes it. (The dispatcher holds a queued follow-up outside the window too.)
"""

from __future__ import annotations

import logging
from datetime import timedelta

from salesbot.application.conversation.answer_prospect import (
    hand_over,
    history_limit,
    load_history,
    newest_spoken,
)
from salesbot.application.conversation.apply_outcome import apply_composed, pause_for_refusal
from salesbot.application.conversation.prompt import FollowUpInfo, Task
from salesbot.application.conversation.queries import ConversationQueries
from salesbot.application.conversation.sales_script import SalesScript
from salesbot.application.conversation.write_reply import ReplyRefused, ReplyWriter
from salesbot.application.errors import LlmError, LlmRejected
from salesbot.application.ports import AdminNotifier, Clock, UnitOfWorkFactory
from salesbot.domain.dialog import DialogStatus
from salesbot.domain.events import Event
from salesbot.domain.message import Direction, OutKind
from salesbot.domain.review import ReviewMode
from salesbot.domain.working_hours import ALWAYS, WorkingHours

logger = logging.getLogger(__name__)

OUTAGE_AFTER = 2
"""Follow-ups that fail in a row before a round stops: the model is down, not one dialog
(a dialog that alone fails does not hold up the others behind it)."""


class FollowUps:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        queries: ConversationQueries,
        writer: ReplyWriter,
        script: SalesScript,
        notifier: AdminNotifier,
        clock: Clock,
        *,
        after_hours: float = 24.0,
        max_follow_ups: int = 1,
        interval_seconds: float = 300.0,
        working_hours: WorkingHours = ALWAYS,
        review: ReviewMode = ReviewMode.OFF,
    ) -> None:
        self._review = review
        self._uow_factory = uow_factory
        self._queries = queries
        self._writer = writer
        self._script = script
        self._notifier = notifier
        self._clock = clock
        self._after = timedelta(hours=after_hours)
        self._max = max_follow_ups
        self._interval = interval_seconds
        self._hours = working_hours
        self._limit = history_limit(writer.token_budget)

    async def run_once(self) -> int:
        """Queue the follow-ups that are due; return how many."""
        if self._max <= 0:
            return 0
        now = self._clock.now()
        if not self._hours.contains(now):
            return 0
        silent_since = now - self._after
        due = await self._queries.awaiting_follow_up(
            silent_since=silent_since, max_follow_ups=self._max
        )
        queued = 0
        failing = 0  # failures in a row: two say the model is down, wait for the next round
        for dialog_id in due:
            try:
                queued += await self._follow_up(dialog_id)
            except LlmRejected as error:
                logger.warning("follow-ups wait for the language model: %s", error)
                break
            except LlmError as error:
                if self._writer.health.failed(dialog_id):
                    await hand_over(
                        self._uow_factory,
                        self._writer,
                        self._notifier,
                        self._clock,
                        dialog_id,
                        str(error),
                    )
                    continue
                failing += 1
                if failing >= OUTAGE_AFTER:
                    logger.warning("follow-ups wait for the language model: %s", error)
                    break
                continue
            failing = 0
            self._writer.health.cleared(dialog_id)
        if queued:
            logger.info("queued %d follow-up(s)", queued)
        return queued

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                logger.exception("follow-up round failed; the next one runs as usual")
            await self._clock.sleep(self.pause())

    def pause(self) -> float:
        """Seconds to the next round: the interval, or less when the working window opens
        sooner (a follow-up held overnight goes at the opening, not minutes after it)."""
        now = self._clock.now()
        opening = self._hours.next_opening(now)
        if opening <= now:
            return self._interval
        return min(self._interval, (opening - now).total_seconds())

    async def _follow_up(self, dialog_id: int) -> int:
        async with self._uow_factory() as uow:
            dialog = await uow.dialogs.get(dialog_id)
            if (
                dialog is None
                or dialog.status is not DialogStatus.ACTIVE
                or dialog.follow_ups_sent >= self._max
                or await uow.do_not_contact.contains(
                    username=dialog.target_username, user_id=dialog.target_user_id
                )
            ):
                return 0
            history = await load_history(uow, dialog_id, self._limit)
            script = await self._script.for_dialog(uow, dialog)
        last = history.last_spoken
        if last is None or last.direction is not Direction.OUT:
            return 0
        sent_before = dialog.follow_ups_sent
        try:
            composed = await self._writer.compose(
                Task.FOLLOW_UP,
                script=script,
                dialog=dialog,
                history=history.messages,
                opener=history.opener,
                follow_up=FollowUpInfo(
                    number=sent_before + 1,
                    total=self._max,
                    hours=self._after.total_seconds() / 3600,
                ),
            )
            refused = None
        except ReplyRefused as error:
            composed, refused = None, error
        events: list[Event] = []
        async with self._uow_factory() as uow:
            dialog = await uow.dialogs.get(dialog_id)
            if (
                dialog is None
                or dialog.status is not DialogStatus.ACTIVE
                or dialog.follow_ups_sent != sent_before
            ):
                return 0
            newest = await newest_spoken(uow, dialog_id)
            if newest is None or newest.id != last.id:
                return 0
            now = self._clock.now()
            if composed is None:
                assert refused is not None
                events.append(await pause_for_refusal(uow, dialog, refused, now=now))
            else:
                dialog.follow_ups_sent += 1
                events += await apply_composed(
                    uow, dialog, composed, kind=OutKind.FOLLOW_UP, now=now, review=self._review
                )
            await uow.commit()
        for event in events:
            await self._notifier.notify(event)
        return 1 if composed is not None else 0
