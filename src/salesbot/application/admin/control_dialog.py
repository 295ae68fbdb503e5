"""The operator steering one dialog: stop it, close it as a lost lead, switch the AI off
and on, write in it by hand, have its AI's messages reviewed (or not) before they go.

A manual message is not sent here: it is queued as an outgoing `manual` message, so the
dispatcher sends it through the dialog's account with the same human-like delays as
everything else; a used daily cap does not hold it back (domain/quota.py), though the
dialog's messages queued before it go first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from salesbot.application.errors import DialogClosed, UnknownDialog
from salesbot.application.ports import Clock, UnitOfWork, UnitOfWorkFactory
from salesbot.domain.dialog import Dialog, DialogStatus, Outcome
from salesbot.domain.message import Delivery, Message, OutKind

log = logging.getLogger(__name__)

OPERATOR = "operator"
# Written by the model: a paused dialog must not send what the AI queued before the pause.
AI_KINDS = (OutKind.REPLY.value, OutKind.FOLLOW_UP.value)


@dataclass(frozen=True)
class StopDialog:
    dialog_id: int


@dataclass(frozen=True)
class CloseDialog:
    """A lost lead, as the operator judges it: `outcome` is one of `LOST_OUTCOMES`."""

    dialog_id: int
    outcome: Outcome
    note: str = ""


@dataclass(frozen=True)
class PauseDialog:
    dialog_id: int


@dataclass(frozen=True)
class ResumeDialog:
    dialog_id: int


@dataclass(frozen=True)
class SayInDialog:
    dialog_id: int
    text: str


@dataclass(frozen=True)
class ReviewDialog:
    """`/review N on|off`: `review` overrides REVIEW_MODE for the dialog (None: follow it)."""

    dialog_id: int
    review: bool | None


@dataclass(frozen=True)
class DialogChanged:
    dialog_id: int
    username: str
    status: DialogStatus
    cancelled: int = 0
    """How many queued, not yet sent messages the change cancelled."""


@dataclass(frozen=True)
class ManualMessageQueued:
    dialog_id: int
    username: str
    account_id: int
    message_id: int
    send_after: datetime
    queued_before: int = 0
    """The dialog's messages still on their way that were queued before it: they go first."""


class UnansweredReplies(Protocol):
    """The conversation engine's side of resuming (IncomingMessages implements it)."""

    async def answer_unanswered_in(self, dialog_id: int) -> bool:
        """Schedule a reply when the dialog's newest message is the prospect's."""
        ...


async def _load(uow: UnitOfWork, dialog_id: int) -> Dialog:
    dialog = await uow.dialogs.get(dialog_id)
    if dialog is None:
        raise UnknownDialog(dialog_id)
    return dialog


class DialogControl:
    """Stop, pause, resume and manual messages. Raises UnknownDialog, IllegalTransition
    (e.g. resuming a stopped dialog) and DialogClosed (writing in a closed one)."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        *,
        replies: UnansweredReplies | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._replies = replies

    async def stop(self, command: StopDialog) -> DialogChanged:
        """Close the dialog for good and cancel everything still queued in it."""
        async with self._uow_factory() as uow:
            dialog = await _load(uow, command.dialog_id)
            dialog.stop(OPERATOR)
            await uow.dialogs.update(dialog)
            cancelled = await uow.messages.cancel_pending(command.dialog_id)
            await uow.commit()
        log.info("dialog %s stopped by the operator (%s queued cancelled)", dialog.id, cancelled)
        return DialogChanged(dialog.id or 0, dialog.target_username, dialog.status, cancelled)

    async def close(self, command: CloseDialog) -> DialogChanged:
        """Finish the dialog as a lost lead (counted apart in /stats and the exports),
        cancel what is queued and send nothing: the operator has said what was needed."""
        reason = f"{OPERATOR}: {command.note}" if command.note.strip() else OPERATOR
        async with self._uow_factory() as uow:
            dialog = await _load(uow, command.dialog_id)
            cancelled = await uow.messages.cancel_pending(command.dialog_id)
            dialog.close_as_lost(command.outcome, reason)
            await uow.dialogs.update(dialog)
            await uow.commit()
        log.info(
            "dialog %s closed by the operator as %s (%s queued cancelled)",
            dialog.id,
            command.outcome.value,
            cancelled,
        )
        return DialogChanged(dialog.id or 0, dialog.target_username, dialog.status, cancelled)

    async def pause(self, command: PauseDialog) -> DialogChanged:
        """AI off: its queued replies and follow-ups are cancelled; manual messages still go."""
        async with self._uow_factory() as uow:
            dialog = await _load(uow, command.dialog_id)
            dialog.pause(OPERATOR)
            await uow.dialogs.update(dialog)
            cancelled = await uow.messages.cancel_pending(command.dialog_id, kinds=AI_KINDS)
            await uow.commit()
        log.info("dialog %s paused by the operator (%s queued cancelled)", dialog.id, cancelled)
        return DialogChanged(dialog.id or 0, dialog.target_username, dialog.status, cancelled)

    async def resume(self, command: ResumeDialog) -> DialogChanged:
        """AI on again for a paused dialog; what the prospect wrote meanwhile is answered
        now rather than when they write again."""
        async with self._uow_factory() as uow:
            dialog = await _load(uow, command.dialog_id)
            dialog.resume()
            await uow.dialogs.update(dialog)
            await uow.commit()
        log.info("dialog %s resumed by the operator", dialog.id)
        if self._replies is not None:
            try:
                await self._replies.answer_unanswered_in(command.dialog_id)
            except Exception:
                # The dialog is resumed all the same; the prospect's next message (or the
                # next start's answer_unanswered) gets the answer.
                log.exception("dialog %s: scheduling a reply after resuming failed", dialog.id)
        return DialogChanged(dialog.id or 0, dialog.target_username, dialog.status)

    async def review(self, command: ReviewDialog) -> DialogChanged:
        """From now on the AI's messages in this open dialog are drafts for the admin (on)
        or go as written (off); drafts waiting already stay the admin's to decide."""
        async with self._uow_factory() as uow:
            dialog = await _load(uow, command.dialog_id)
            if not dialog.is_open:
                raise DialogClosed(command.dialog_id, dialog.status.value)
            dialog.review = command.review
            await uow.dialogs.update(dialog)
            await uow.commit()
        log.info("dialog %s: review %s by the operator", dialog.id, command.review)
        return DialogChanged(dialog.id or 0, dialog.target_username, dialog.status)

    async def say(self, command: SayInDialog) -> ManualMessageQueued:
        """Queue the operator's own words in an open (active or paused) dialog."""
        text = command.text.strip()
        if not text:
            raise ValueError("a manual message needs text")
        now = self._clock.now()
        async with self._uow_factory() as uow:
            dialog = await _load(uow, command.dialog_id)
            if not dialog.is_open:
                raise DialogClosed(command.dialog_id, dialog.status.value)
            ahead = [
                m
                for delivery in (Delivery.PENDING, Delivery.SENDING)
                for m in await uow.messages.list_by_delivery(delivery, dialog_id=dialog.id)
            ]
            message = await uow.messages.add(
                Message.outgoing(
                    dialog_id=command.dialog_id,
                    account_id=dialog.account_id,
                    content=text,
                    now=now,
                    kind=OutKind.MANUAL,
                )
            )
            dialog.last_activity_at = now
            await uow.dialogs.update(dialog)
            await uow.commit()
        log.info("manual message %s queued in dialog %s", message.id, dialog.id)
        return ManualMessageQueued(
            dialog_id=command.dialog_id,
            username=dialog.target_username,
            account_id=dialog.account_id,
            message_id=message.id or 0,
            send_after=message.send_after or now,
            queued_before=len(ahead),
        )
