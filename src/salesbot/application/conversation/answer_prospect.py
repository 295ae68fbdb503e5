"""generate_reply: answer everything the prospect wrote since our last message.

Two short units of work around the model call, none held while it thinks: the first reads
the dialog, its newest messages and the script; the second, under the caller's per-dialog
lock, checks that nothing newer arrived in between (a newer message gets its own reply,
which will see both) and then queues the answer and applies its outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass

from salesbot.application.conversation.apply_outcome import (
    apply_composed,
    pause_for_failing_model,
    pause_for_refusal,
    record_usage,
)
from salesbot.application.conversation.prompt import Task, is_speakable, last_speakable
from salesbot.application.conversation.sales_script import SalesScript
from salesbot.application.conversation.write_reply import (
    AnswerUnusable,
    ReplyRefused,
    ReplyWriter,
)
from salesbot.application.errors import DatabaseUnavailable
from salesbot.application.ports import AdminNotifier, Clock, UnitOfWork, UnitOfWorkFactory
from salesbot.domain.dialog import Dialog
from salesbot.domain.events import Event
from salesbot.domain.message import Direction, Message, OutKind
from salesbot.domain.review import ReviewMode

logger = logging.getLogger(__name__)

WriteLock = Callable[[], AbstractAsyncContextManager[object]]


@dataclass(frozen=True)
class History:
    messages: list[Message]  # the newest messages, in order
    opener: Message | None  # the dialog's first message when `messages` does not start there

    @property
    def last_spoken(self) -> Message | None:
        return last_speakable(self.messages)


def history_limit(token_budget: int) -> int:
    """How many of the newest messages to read: more than the budget can show."""
    return max(60, token_budget // 30)


async def load_history(uow: UnitOfWork, dialog_id: int, limit: int) -> History:
    messages = await uow.messages.list_for_dialog(dialog_id, last=limit)
    if len(messages) < limit:
        return History(messages, None)
    opener = None
    stream = uow.messages.stream_for_dialog(dialog_id, batch_size=4)
    try:
        async for message in stream:
            if is_speakable(message):
                opener = message
                break
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()
    return History(messages, opener)


async def newest_spoken(uow: UnitOfWork, dialog_id: int) -> Message | None:
    return last_speakable(await uow.messages.list_for_dialog(dialog_id, last=8))


@dataclass(frozen=True)
class ReplyContext:
    """What the model is asked with: the dialog, its newest messages, the sales script."""

    dialog: Dialog
    history: History
    script: str


class DialogReplier:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        writer: ReplyWriter,
        script: SalesScript,
        notifier: AdminNotifier,
        clock: Clock,
        *,
        review: ReviewMode = ReviewMode.OFF,
    ) -> None:
        self._uow_factory = uow_factory
        self._writer = writer
        self._script = script
        self._notifier = notifier
        self._clock = clock
        self._review = review
        self._limit = history_limit(writer.token_budget)

    async def read_context(
        self, uow: UnitOfWork, dialog_id: int, dialog: Dialog | None = None
    ) -> ReplyContext | None:
        """What the model is asked with, read in the caller's unit of work; None when the
        AI does not lead the dialog. `dialog`: the dialog as the caller read it in that
        unit of work (it saves reading it again)."""
        if dialog is None or dialog.id != dialog_id:
            dialog = await uow.dialogs.get(dialog_id)
        if dialog is None or not dialog.ai_enabled:
            return None
        history = await load_history(uow, dialog_id, self._limit)
        script = await self._script.for_dialog(uow, dialog)
        return ReplyContext(dialog, history, script)

    async def reply(
        self,
        dialog_id: int,
        *,
        write_lock: WriteLock | None = None,
        context: ReplyContext | None = None,
    ) -> bool:
        """Queue one answer to the prospect's unanswered messages; False when there was
        nothing to answer or the answer became obsolete. LlmError passes through.

        `context`: what `read_context` gave the caller a moment ago, with no timer or model
        call in between; it saves a unit of work (after the model call the dialog is read
        again anyway, under the write lock, before anything is written)."""
        if context is None or context.dialog.id != dialog_id:
            async with self._uow_factory() as uow:
                context = await self.read_context(uow, dialog_id)
            if context is None:
                return False
        dialog, history, script = context.dialog, context.history, context.script
        last = history.last_spoken
        if last is None or last.direction is not Direction.IN:
            return False
        try:
            composed = await self._writer.compose(
                Task.REPLY,
                script=script,
                dialog=dialog,
                history=history.messages,
                opener=history.opener,
            )
            refused = None
        except ReplyRefused as error:
            composed, refused = None, error
        except AnswerUnusable as error:
            await self._record_usage(dialog_id, error)
            raise
        self._writer.health.cleared(dialog_id)
        events: list[Event] = []
        lock = write_lock() if write_lock else nullcontext()
        async with lock, self._uow_factory() as uow:
            found = await uow.dialogs.get_with_newest_message(dialog_id)
            if found is None:
                return False
            dialog, newest_id = found
            if not dialog.ai_enabled:
                return False
            if newest_id != last.id:
                logger.debug("dialog %s: a newer message arrived; answer dropped", dialog_id)
                return False
            now = self._clock.now()
            if composed is None:
                assert refused is not None
                events.append(await pause_for_refusal(uow, dialog, refused, now=now))
            else:
                events += await apply_composed(
                    uow,
                    dialog,
                    composed,
                    kind=OutKind.REPLY,
                    now=now,
                    prospect_text=_unanswered_text(history.messages),
                    review=self._review,
                )
            await uow.commit()
        for event in events:
            await self._notifier.notify(event)
        return composed is not None and bool(composed.parts)

    def failed(self, dialog_id: int) -> bool:
        """One more round of the model failing for the dialog (an LlmError other than a
        rejection); True when it is this dialog alone: hand it over."""
        return self._writer.health.failed(dialog_id)

    async def hand_over(self, dialog_id: int, detail: str) -> None:
        """Pause the dialog for a human and tell the admin why (see `failed`)."""
        await hand_over(
            self._uow_factory, self._writer, self._notifier, self._clock, dialog_id, detail
        )

    async def _record_usage(self, dialog_id: int, error: AnswerUnusable) -> None:
        """Unusable answers are paid for too (best effort: the reply is what matters)."""
        if not (error.usage.prompt_tokens or error.usage.completion_tokens):
            return
        try:
            async with self._uow_factory() as uow:
                dialog = await uow.dialogs.get(dialog_id)
                if dialog is None:
                    return
                record_usage(dialog, error.usage)
                await uow.dialogs.update(dialog)
                await uow.commit()
        except DatabaseUnavailable as db_error:
            logger.warning(
                "dialog %s: the unusable answers' cost was not kept: %s", dialog_id, db_error
            )


async def hand_over(
    uow_factory: UnitOfWorkFactory,
    writer: ReplyWriter,
    notifier: AdminNotifier,
    clock: Clock,
    dialog_id: int,
    detail: str,
) -> None:
    """The model keeps failing for this dialog while it answers others (its `health` said
    so): pause it for a human and tell the admin why. Replies and follow-ups both use it."""
    writer.health.cleared(dialog_id)
    async with uow_factory() as uow:
        dialog = await uow.dialogs.get(dialog_id)
        if dialog is None or not dialog.ai_enabled:
            return
        event = await pause_for_failing_model(uow, dialog, detail, now=clock.now())
        await uow.commit()
    logger.warning("dialog %s: handed to the operator: %s", dialog_id, detail)
    await notifier.notify(event)


def _unanswered_text(messages: list[Message]) -> str:
    """The prospect's messages after our last one, joined."""
    tail: list[str] = []
    for message in reversed(messages):
        if not is_speakable(message):
            continue
        if message.direction is not Direction.IN:
            break
        tail.append(message.content)
    return " / ".join(reversed(tail))
