"""Domain events as the admin reads them."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from salesbot.adapters.admin_bot.catalogue import Texts
from salesbot.adapters.admin_bot.formatting import Formatter
from salesbot.domain import events as ev
from salesbot.domain.dialog import DialogStatus

REPLY_PREVIEW = 500


def _preview(text: str) -> str:
    return text if len(text) <= REPLY_PREVIEW else text[: REPLY_PREVIEW - 1] + "…"


def describe_event(event: ev.Event, f: Formatter) -> str:
    t = f.t
    if isinstance(event, ev.ProspectReplied):
        text = _preview(event.text)
        if event.media is not None:
            seen = event.media.transcript is None
            text += "\n" + t("event_media_not_seen" if seen else "event_media_transcribed")
        return t("event_replied", username=event.username, dialog_id=event.dialog_id, text=text)
    if isinstance(event, ev.ProspectWroteToOperator):
        text = _preview(event.text)
        if event.media is not None and event.media.transcript is not None:
            text += "\n" + t("event_media_transcribed")
        return t(
            "event_inbox" if event.status == DialogStatus.PAUSED.value else "event_inbox_closed",
            username=event.username,
            dialog_id=event.dialog_id,
            account_id=event.account_id,
            status=t.word("dialog_status", event.status),
            text=text,
        )
    if isinstance(event, ev.GoalReached):
        return t(
            "event_goal", dialog_id=event.dialog_id, username=event.username, summary=event.summary
        )
    if isinstance(event, ev.HandoffRequested):
        return t(
            "event_handoff",
            dialog_id=event.dialog_id,
            username=event.username,
            summary=event.summary,
        )
    if isinstance(event, ev.DialogLost):
        return t(
            "event_lost",
            dialog_id=event.dialog_id,
            username=event.username,
            outcome=t.word("outcome", event.outcome),
            summary=event.summary,
        )
    if isinstance(event, ev.ProspectOptedOut):
        return t("event_opted_out", dialog_id=event.dialog_id, username=event.username)
    if isinstance(event, ev.DialogFailed):
        return t(
            "event_failed",
            dialog_id=event.dialog_id,
            username=event.username,
            reason=t.word("unreachable", event.reason),
        )
    if isinstance(event, ev.DialogPaused):
        text = t(
            "event_paused",
            dialog_id=event.dialog_id,
            username=event.username,
            reason=t.reason(event.reason),
        )
        if event.draft:
            text += "\n" + t(
                "event_paused_draft", draft=_preview(event.draft), dialog_id=event.dialog_id
            )
        return text
    if isinstance(event, ev.DraftWritten):
        answering = (
            t("event_draft_answering", username=event.username, said=event.answering) + "\n\n"
            if event.answering
            else ""
        )
        return answering + t(
            "event_draft",
            username=event.username,
            dialog_id=event.dialog_id,
            account_id=event.account_id,
            kind=t.word("draft_kind", event.kind),
            text=event.text,
            message_id=event.message_id,
        )
    if isinstance(event, ev.AccountLimited):
        return t(
            "event_limited",
            phone=event.phone,
            account_id=event.account_id,
            until=f.time(event.until),
        )
    if isinstance(event, ev.FloodWaitStarted):
        return t(
            "event_flood_wait",
            phone=event.phone,
            account_id=event.account_id,
            until=f.time(event.until),
        )
    if isinstance(event, ev.AccountLoggedOut):
        return t("event_logged_out", phone=event.phone, account_id=event.account_id)
    if isinstance(event, ev.AccountBanned):
        return t("event_banned", phone=event.phone, account_id=event.account_id)
    if isinstance(event, ev.LlmFailing):
        return t("event_llm_failing", reason=event.reason)
    if isinstance(event, ev.LlmRecovered):
        return t("event_llm_recovered")
    if isinstance(event, ev.WaitingForQuota):
        return t(
            "event_waiting",
            dialog_id=event.dialog_id,
            username=event.username,
            next_at=f.time(event.next_at),
        )
    if isinstance(event, ev.OperatorWrote):
        key = "event_operator_wrote" if event.paused else "event_operator_wrote_paused_already"
        return t(key, dialog_id=event.dialog_id, username=event.username, text=_preview(event.text))
    if isinstance(event, ev.DatabaseUnreachable):
        return t("event_database_unreachable", reason=_preview(event.reason))
    if isinstance(event, ev.DatabaseBack):
        return t("event_database_back", minutes=max(1, round(event.down_seconds / 60)))
    if isinstance(event, ev.CampaignPaused):
        return t(
            "event_campaign_paused",
            n=event.campaign_id,
            name=event.name,
            refused=event.refused,
            reason=_preview(event.reason),
        )
    if isinstance(event, ev.WebhookFailing):
        return t(
            "event_webhook_failing",
            minutes=event.minutes,
            reason=_preview(event.reason),
            waiting=event.waiting,
        )
    if isinstance(event, ev.WebhookRecovered):
        return t("event_webhook_recovered", minutes=event.down_minutes)
    return t("event_other", event=event)


def describe_batch(events: list[ev.Event], f: Formatter) -> str:
    """One event as itself; a burst under one header, in the order it happened."""
    texts = [describe_event(e, f) for e in events]
    if len(texts) == 1:
        return texts[0]
    return "\n\n".join([f.t("notices_header", count=len(texts)), *texts])


INBOX_CALLBACK = "inbox:{action}:{dialog_id}"
INBOX_ACTIONS = ("reply", "resume", "stop")


def batch_buttons(events: list[ev.Event], t: Texts) -> InlineKeyboardMarkup | None:
    """Reply / Resume AI / Stop under a notice that is about one paused dialog's new
    messages only (a burst about several dialogs gets none: which would a button mean?)."""
    inbox = [e for e in events if isinstance(e, ev.ProspectWroteToOperator)]
    if len(inbox) != len(events) or len({e.dialog_id for e in inbox}) != 1:
        return None
    if inbox[0].status != DialogStatus.PAUSED.value:
        return None
    n = inbox[0].dialog_id
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(f"inbox_button_{action}"),
                    callback_data=INBOX_CALLBACK.format(action=action, dialog_id=n),
                )
                for action in INBOX_ACTIONS
            ]
        ]
    )


DRAFT_CALLBACK = "draft:{action}:{message_id}"
DRAFT_ACTIONS = ("approve", "edit", "regen", "discard")


def draft_buttons(event: ev.DraftWritten, t: Texts) -> InlineKeyboardMarkup:
    """Approve / Edit / Regenerate / Discard under a draft's notice (each draft is told in
    a message of its own, so a button always means one draft)."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(f"draft_button_{action}"),
                    callback_data=DRAFT_CALLBACK.format(action=action, message_id=event.message_id),
                )
                for action in DRAFT_ACTIONS[:2]
            ],
            [
                InlineKeyboardButton(
                    t(f"draft_button_{action}"),
                    callback_data=DRAFT_CALLBACK.format(action=action, message_id=event.message_id),
                )
                for action in DRAFT_ACTIONS[2:]
            ],
        ]
    )
