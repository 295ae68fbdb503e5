"""Review mode: the admin decides each draft the AI wrote — Approve, Edit, Regenerate, Discard.

A draft is an outgoing message in the `draft` state: the dispatcher never claims it and no
counter counts it. Approve makes it `pending` (due now; the dispatcher sends it within the
quota and delays like any message). Edit puts the operator's words in its place, then the
same (a reply or follow-up then counts as the operator's, `manual`; an opener stays the
dialog's opener, cold, within the working hours). Regenerate asks the model again through
the same writer and output guard, optionally with the operator's instruction; the old
text is `discarded` and the new one is a new draft, told like the first (its outcome was
applied with the first one: only its text, progress and cost are taken). Discard keeps the
text `discarded` for the record; a discarded opener means the dialog never began: it is
stopped (the prospect may be started again); a discarded follow-up still counts as that
silence's follow-up (the operator chose not to nudge).

A draft the prospect's newer message superseded (it was cancelled with what was pending),
or one decided already, is not the admin's any more: every action then raises
DraftNotWaiting and changes nothing, so pressing a button twice never sends twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from salesbot.application.conversation.answer_prospect import history_limit, load_history
from salesbot.application.conversation.apply_outcome import draft_written, record_answer
from salesbot.application.conversation.prompt import FollowUpInfo, Task
from salesbot.application.conversation.sales_script import SalesScript
from salesbot.application.conversation.start_dialog import with_disclosure
from salesbot.application.conversation.write_reply import ReplyRefused, ReplyWriter
from salesbot.application.errors import (
    DraftHeld,
    DraftNotRewritten,
    DraftNotWaiting,
)
from salesbot.application.ports import AdminNotifier, Clock, UnitOfWork, UnitOfWorkFactory
from salesbot.domain.dialog import Dialog
from salesbot.domain.message import Delivery, Direction, Message, OutKind

log = logging.getLogger(__name__)

OPENER_DISCARDED = "the opener was discarded in review"
_TASKS = {OutKind.OPENER: Task.OPENER, OutKind.FOLLOW_UP: Task.FOLLOW_UP}
_STATES = {
    Delivery.PENDING: "approved",
    Delivery.SENDING: "approved",
    Delivery.SENT: "approved",
    Delivery.FAILED: "approved",
    Delivery.CANCELLED: "superseded",
    Delivery.DISCARDED: "discarded",
}


@dataclass(frozen=True)
class ApproveDraft:
    message_id: int


@dataclass(frozen=True)
class EditDraft:
    message_id: int
    text: str


@dataclass(frozen=True)
class RegenerateDraft:
    message_id: int
    instruction: str = ""


@dataclass(frozen=True)
class DiscardDraft:
    message_id: int


@dataclass(frozen=True)
class DraftDecided:
    """What became of a draft: `message_id` is the message that goes (Approve, Edit), the
    new draft (Regenerate) or the discarded one (Discard)."""

    message_id: int
    dialog_id: int
    username: str
    account_id: int
    text: str
    dialog_stopped: bool = False
    """Discard of an opener: the dialog never began and is stopped."""


async def _waiting(uow: UnitOfWork, message_id: int) -> tuple[Message, Dialog]:
    """The draft and its dialog; DraftNotWaiting when it is not a draft (any more)."""
    message = await uow.messages.get(message_id)
    if message is None or message.direction is not Direction.OUT or message.delivery is None:
        raise DraftNotWaiting(message_id, "unknown")
    if not message.is_draft:
        raise DraftNotWaiting(message_id, _STATES.get(message.delivery, "unknown"))
    dialog = await uow.dialogs.get(message.dialog_id)
    if dialog is None:
        raise DraftNotWaiting(message_id, "unknown")
    return message, dialog


async def _decide(uow: UnitOfWork, message: Message) -> None:
    """Write the admin's decision on a draft, only while it is still one: two presses at
    once (two admins, a double tap) decide it once; the later one gets DraftNotWaiting."""
    if not await uow.messages.update_if(message, delivery=Delivery.DRAFT):
        found = await uow.messages.get(message.id or 0)
        state = _STATES.get(found.delivery, "unknown") if found and found.delivery else "unknown"
        raise DraftNotWaiting(message.id or 0, state)


def _decided(message: Message, dialog: Dialog, *, stopped: bool = False) -> DraftDecided:
    return DraftDecided(
        message.id or 0,
        dialog.id or 0,
        dialog.target_username,
        dialog.account_id,
        message.content,
        dialog_stopped=stopped,
    )


class DraftReview:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        writer: ReplyWriter,
        script: SalesScript,
        notifier: AdminNotifier,
        clock: Clock,
        *,
        disclose: bool = False,
        max_follow_ups: int = 1,
        follow_up_after_hours: float = 24.0,
    ) -> None:
        self._uow_factory = uow_factory
        self._writer = writer
        self._script = script
        self._notifier = notifier
        self._clock = clock
        self._disclose = disclose
        self._max_follow_ups = max_follow_ups
        self._follow_up_hours = follow_up_after_hours
        self._limit = history_limit(writer.token_budget)

    async def waiting(self, message_id: int) -> DraftDecided:
        """The draft as it waits (Edit asks for the text only then); DraftNotWaiting when
        it does not."""
        async with self._uow_factory() as uow:
            message, dialog = await _waiting(uow, message_id)
        return _decided(message, dialog)

    async def approve(self, command: ApproveDraft) -> DraftDecided:
        """The draft goes as the AI wrote it."""
        return await self._release(command.message_id, None)

    async def edit(self, command: EditDraft) -> DraftDecided:
        """The operator's `text` goes in the draft's place."""
        text = command.text.strip()
        if not text:
            raise ValueError("an edited draft needs text")
        return await self._release(command.message_id, text)

    async def _release(self, message_id: int, text: str | None) -> DraftDecided:
        now = self._clock.now()
        async with self._uow_factory() as uow:
            message, dialog = await _waiting(uow, message_id)
            message.delivery = Delivery.PENDING
            message.send_after = now
            if text is not None:
                message.content = text
                if message.kind is not OutKind.OPENER:
                    message.kind = OutKind.MANUAL
            if not dialog.may_send(message):
                raise DraftHeld(dialog.id or 0, dialog.status.value)
            await _decide(uow, message)
            dialog.last_activity_at = now
            await uow.dialogs.update(dialog)
            await uow.commit()
        log.info(
            "dialog %s: draft %s %s by the operator",
            dialog.id,
            message_id,
            "approved" if text is None else "edited",
        )
        return _decided(message, dialog)

    async def discard(self, command: DiscardDraft) -> DraftDecided:
        """Nothing goes; the text is kept as discarded. A discarded opener stops its dialog."""
        async with self._uow_factory() as uow:
            message, dialog = await _waiting(uow, command.message_id)
            message.delivery = Delivery.DISCARDED
            await _decide(uow, message)
            stopped = message.kind is OutKind.OPENER and dialog.is_open
            if stopped:
                dialog.stop(OPENER_DISCARDED)
                await uow.dialogs.update(dialog)
            await uow.commit()
        log.info("dialog %s: draft %s discarded by the operator", dialog.id, message.id)
        return _decided(message, dialog, stopped=stopped)

    async def regenerate(self, command: RegenerateDraft) -> DraftDecided:
        """A new draft in place of this one, written and checked like the first (with the
        operator's instruction, if any); told to the admin as a DraftWritten. LlmError
        passes through and DraftNotRewritten says the new text may not go: the old draft
        stays either way."""
        async with self._uow_factory() as uow:
            old, dialog = await _waiting(uow, command.message_id)
            history = await load_history(uow, dialog.id or 0, self._limit)
            script = await self._script.for_dialog(uow, dialog)
            kind = old.kind or OutKind.REPLY
            task = _TASKS.get(kind, Task.REPLY)
            variant = await self._script.variant_for(uow, dialog) if task is Task.OPENER else ""
        # What the model reads: the conversation without the text it rewrites.
        earlier = [m for m in history.messages if m.id != old.id and task is not Task.OPENER]
        try:
            composed = await self._writer.compose(
                task,
                script=script,
                dialog=dialog,
                history=earlier,
                opener=history.opener,
                follow_up=FollowUpInfo(
                    number=max(1, dialog.follow_ups_sent),
                    total=self._max_follow_ups,
                    hours=self._follow_up_hours,
                ),
                instruction=command.instruction,
                variant=variant,
            )
        except ReplyRefused as refused:
            raise DraftNotRewritten(str(refused)) from None
        if not composed.parts:
            raise DraftNotRewritten("the model wrote nothing to send")
        text = composed.text
        if task is Task.OPENER and self._disclose:
            text = with_disclosure(text, script)
        now = self._clock.now()
        async with self._uow_factory() as uow:
            old, dialog = await _waiting(uow, command.message_id)
            old.delivery = Delivery.DISCARDED
            await _decide(uow, old)
            record_answer(dialog, composed, now)
            new = Message.outgoing(
                dialog.id or 0, dialog.account_id, text, now, kind, last_word=old.last_word
            )
            stored = await uow.messages.add(new.as_draft(), dialog=dialog)
            await uow.commit()
        log.info("dialog %s: draft %s rewritten as %s", dialog.id, old.id, stored.id)
        await self._notifier.notify(draft_written(dialog, stored))
        return _decided(stored, dialog)
