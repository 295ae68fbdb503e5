"""What an answer does to a dialog, inside the caller's unit of work.

continue: the parts are queued. goal / handoff: the parts (a short confirmation) are queued
as the AI's last word, which still goes although the same write pauses the AI in this
dialog, and the admin gets a two-line summary. rejected / not_qualified (a lost lead): the
parts (a polite goodbye) are queued as the last word, the dialog is finished (no reply or
follow-up ever again, anything else still queued is cancelled) and the admin is told.
opt_out (from the model or the keyword detector): the dialog is closed, the prospect goes on
the do-not-contact list and nothing more is sent. Stage, warmth, summary and usage are kept
on the dialog either way. Events are returned, to be told after the commit.

In review mode (`needs_review`) the answer is not queued: it is stored as one draft (its
parts joined) that waits for the admin, told with a DraftWritten; the outcome applies as
it would (a goal's confirmation is a last-word draft of the paused dialog).
"""

from __future__ import annotations

from datetime import datetime

from salesbot.application.conversation.reply_checks import REFUSAL_TEXT
from salesbot.application.conversation.write_reply import Composed, ReplyRefused, Usage
from salesbot.application.ports import UnitOfWork
from salesbot.domain.dialog import LOST_OUTCOMES, Dialog, DialogStatus, Outcome
from salesbot.domain.do_not_contact import DoNotContact
from salesbot.domain.events import (
    DialogLost,
    DialogPaused,
    DraftWritten,
    Event,
    GoalReached,
    HandoffRequested,
    ProspectOptedOut,
)
from salesbot.domain.message import Message, OutKind
from salesbot.domain.review import ReviewMode, needs_review

SUMMARY_LINE_CHARS = 200
GOAL_REASON = "goal reached"
HANDOFF_REASON = "hand-off requested"
LOST_REASON = {
    Outcome.REJECTED: "the prospect declined",
    Outcome.NOT_QUALIFIED: "the prospect is not qualified",
}


def record_usage(dialog: Dialog, usage: Usage) -> None:
    dialog.record_usage(
        usage.prompt_tokens, usage.completion_tokens, usage.cost_usd, usage.cached_tokens
    )


def record_answer(dialog: Dialog, composed: Composed, now: datetime) -> None:
    """What a written message tells about its dialog: the stage and warmth the model read,
    its summary (when it gave one), the tokens it cost, the time of this activity."""
    answer = composed.answer
    dialog.record_progress(answer.stage, answer.warmth)
    record_usage(dialog, composed.usage)
    if answer.summary:
        dialog.summary = answer.summary
    dialog.last_activity_at = now


async def apply_composed(
    uow: UnitOfWork,
    dialog: Dialog,
    composed: Composed,
    *,
    kind: OutKind,
    now: datetime,
    prospect_text: str = "",
    review: ReviewMode = ReviewMode.OFF,
) -> list[Event]:
    """Queue the answer (or draft it, `review`) and apply its outcome; the caller commits."""
    assert dialog.id is not None
    answer = composed.answer
    record_answer(dialog, composed, now)
    if kind is OutKind.REPLY:
        # MAX_FOLLOW_UPS is per silence: the prospect spoke, a new silence may begin (and a
        # follow-up that their message cancelled was never sent).
        dialog.follow_ups_sent = 0
    events: list[Event] = []
    if answer.outcome is Outcome.OPT_OUT:
        events += await close_for_opt_out(
            uow, dialog, now=now, reason="the model read a request to stop writing"
        )
        await uow.dialogs.update(dialog)
        return events
    lost = answer.outcome in LOST_OUTCOMES
    steps_aside = lost or answer.outcome in (Outcome.GOAL, Outcome.HANDOFF)
    if lost:
        await uow.messages.cancel_pending(dialog.id)
        dialog.close_as_lost(answer.outcome, LOST_REASON[answer.outcome])
        summary = two_line_summary(answer.summary, dialog, prospect_text)
        events.append(DialogLost(dialog.id, dialog.target_username, answer.outcome.value, summary))
    elif steps_aside:
        goal = answer.outcome is Outcome.GOAL
        dialog.outcome = answer.outcome
        dialog.pause(GOAL_REASON if goal else HANDOFF_REASON)
        summary = two_line_summary(answer.summary, dialog, prospect_text)
        event_type = GoalReached if goal else HandoffRequested
        events.append(event_type(dialog.id, dialog.target_username, summary))
    if composed.parts and needs_review(review, dialog.review, kind):
        draft = Message.outgoing(
            dialog.id, dialog.account_id, composed.text, now, kind, last_word=steps_aside
        )
        stored = await uow.messages.add(draft.as_draft(), dialog=dialog)
        events.append(draft_written(dialog, stored, answering=prospect_text))
        return events
    queued = [
        Message.outgoing(dialog.id, dialog.account_id, part, now, kind, last_word=steps_aside)
        for part in composed.parts
    ]
    for message in queued[:-1]:
        await uow.messages.add(message)
    if queued:
        # The last part and the dialog's new state in one write.
        await uow.messages.add(queued[-1], dialog=dialog)
    else:
        await uow.dialogs.update(dialog)
    return events


def draft_written(dialog: Dialog, draft: Message, *, answering: str = "") -> DraftWritten:
    """The admin's notice of a stored draft (`answering`: the prospect's words it answers)."""
    assert dialog.id is not None and draft.id is not None and draft.kind is not None
    return DraftWritten(
        dialog.id,
        dialog.target_username,
        dialog.account_id,
        draft.id,
        draft.content,
        draft.kind.value,
        answering.strip(),
    )


async def close_for_opt_out(
    uow: UnitOfWork, dialog: Dialog, *, now: datetime, reason: str
) -> list[Event]:
    """Close the dialog for good and never write to the prospect again; the caller updates
    the dialog and commits."""
    assert dialog.id is not None
    already = dialog.status is DialogStatus.OPTED_OUT
    if not already:
        dialog.opt_out(reason)
    await uow.do_not_contact.add(
        DoNotContact(
            username=dialog.target_username,
            user_id=dialog.target_user_id,
            reason=reason,
            created_at=now,
            dialog_id=dialog.id,
        )
    )
    await uow.messages.cancel_pending(dialog.id)
    return [] if already else [ProspectOptedOut(dialog.id, dialog.target_username)]


async def pause_for_refusal(
    uow: UnitOfWork, dialog: Dialog, refused: ReplyRefused, *, now: datetime
) -> Event:
    """Two answers in a row failed a check: a human should look before the AI writes again;
    the admin gets the draft that was held back."""
    assert dialog.id is not None
    record_usage(dialog, refused.usage)
    reason = f"{REFUSAL_TEXT.get(refused.reason, refused.reason)} twice"
    dialog.pause(reason)
    dialog.last_activity_at = now
    await uow.dialogs.update(dialog)
    return DialogPaused(dialog.id, dialog.target_username, reason=reason, draft=refused.draft)


async def pause_for_failing_model(
    uow: UnitOfWork, dialog: Dialog, detail: str, *, now: datetime
) -> Event:
    """The model keeps failing for this dialog while it answers others: retrying will not
    mend it, a human should look."""
    assert dialog.id is not None
    reason = f"the model keeps failing for this dialog while it answers others ({detail})"
    dialog.pause(reason)
    dialog.last_activity_at = now
    await uow.dialogs.update(dialog)
    return DialogPaused(dialog.id, dialog.target_username, reason=reason)


def two_line_summary(summary: str, dialog: Dialog, prospect_text: str) -> str:
    """The model's two lines when it gave them; otherwise the state and their last words."""
    lines = [_short(line) for line in summary.splitlines() if line.strip()][:2]
    fallback = [f"Stage {dialog.stage.value}, warmth {dialog.warmth}/100"]
    if prospect_text.strip():
        fallback.insert(0, f"Last message: «{_short(prospect_text)}»")
    for line in fallback:
        if len(lines) < 2:
            lines.append(line)
    return "\n".join(lines)


def _short(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= SUMMARY_LINE_CHARS:
        return text
    return text[: SUMMARY_LINE_CHARS - 1].rstrip() + "…"
