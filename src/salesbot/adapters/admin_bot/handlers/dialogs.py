"""/start, /stop, /close, /pause, /resume, /say: starting a dialog and steering it."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Protocol

from telegram import ForceReply, Update
from telegram.error import TelegramError

from salesbot.adapters.admin_bot.catalogue import Texts
from salesbot.adapters.admin_bot.handlers.common import (
    BadInput,
    Context,
    answers_bad_input,
    command_tail,
    dialog_number,
    reply,
    split_first,
)
from salesbot.application.admin.control_dialog import (
    CloseDialog,
    DialogControl,
    PauseDialog,
    ResumeDialog,
    SayInDialog,
    StopDialog,
)
from salesbot.application.conversation.start_dialog import DialogStarted, StartDialog
from salesbot.application.errors import (
    AlreadyInDialog,
    DialogAlreadyOpen,
    DialogClosed,
    LlmRejected,
    LlmUnavailable,
    NoAccountAvailable,
    OnDoNotContact,
    RateLimited,
    RecipientUnreachable,
    TelegramUnavailable,
    UnknownDialog,
)
from salesbot.domain.dialog import Outcome
from salesbot.domain.errors import IllegalTransition, InvalidUsername
from salesbot.domain.text import storable
from salesbot.domain.username import normalize_username

CLOSE_REASONS = {
    "rejected": Outcome.REJECTED,
    "отказ": Outcome.REJECTED,
    "not_qualified": Outcome.NOT_QUALIFIED,
    "не_подходит": Outcome.NOT_QUALIFIED,
}
"""/close's reasons: the outcomes' own names and a Russian word for each."""


log = logging.getLogger(__name__)

_INBOX_BUTTON = re.compile(r"^inbox:(reply|resume|stop):(\d+)$")
# Every notice about one dialog the operator may answer names `/say N`.
_SAY_HINT = re.compile(r"/say (\d+)\b")


def dialogs_named_in(notice: str) -> list[int]:
    """The dialogs a notice offers to answer (`/say N` in it), in order, each once."""
    return list(dict.fromkeys(int(n) for n in _SAY_HINT.findall(notice)))


class DialogStarter(Protocol):
    """`StartDialogHandler` of application/start_dialog.py."""

    async def __call__(
        self, command: StartDialog, *, writing: Callable[[], Awaitable[None]] | None = None
    ) -> DialogStarted: ...


def explain_start_refusal(error: Exception, t: Texts, username: str) -> str | None:
    """The admin's answer to a refused /start, or None for an unexpected error."""
    if isinstance(error, InvalidUsername):
        return t("invalid_username", raw=error.raw, reason=t.reason(error.reason))
    if isinstance(error, AlreadyInDialog):
        return t("already_in_dialog", username=error.username, dialog_id=error.dialog_id)
    if isinstance(error, DialogAlreadyOpen):
        return t("already_in_open_dialog", username=error.username)
    if isinstance(error, OnDoNotContact):
        return t("on_do_not_contact", username=error.username)
    if isinstance(error, NoAccountAvailable):
        return t("no_account_available")
    if isinstance(error, RecipientUnreachable):
        return t(
            "recipient_unreachable", username=username, reason=t.word("unreachable", error.reason)
        )
    if isinstance(error, LlmRejected):
        return t("llm_rejected", detail=error.detail or error.kind)
    if isinstance(error, LlmUnavailable):
        return t("llm_unavailable")
    if isinstance(error, RateLimited):
        return t("rate_limited", seconds=f"{error.retry_after:.0f}")
    if isinstance(error, TelegramUnavailable):
        return t("telegram_unavailable", detail=str(error))
    return None


class DialogCommands:
    def __init__(self, texts: Texts, starter: DialogStarter, control: DialogControl) -> None:
        self.t = texts
        self._start = starter
        self._control = control

    @answers_bad_input
    async def start(self, update: Update, context: Context) -> None:
        """/start @username [context]: the AI writes an opener and the dialog begins. It
        runs beside the next commands (the model may take minutes) and says at once that
        the opener is being written, once the checks have passed."""
        assert update.message is not None
        raw, dialog_context = split_first(command_tail(update.message))
        if not raw:
            raise BadInput(self.t("start_missing"))

        async def writing() -> None:
            try:
                await reply(update, context, self.t("writing_opener", username=username))
            except TelegramError as error:  # the dialog still starts
                log.warning("could not tell the admin the opener is being written: %s", error)

        try:
            username = normalize_username(raw)
            started = await self._start(
                StartDialog(username=username, notes=dialog_context), writing=writing
            )
        except Exception as error:
            answer = explain_start_refusal(error, self.t, raw.lstrip("@"))
            if answer is None:
                raise
            raise BadInput(answer) from error
        await reply(
            update,
            context,
            self.t(
                "dialog_started_draft" if started.draft else "dialog_started",
                dialog_id=started.dialog_id,
                username=started.username,
                account_id=started.account_id,
                opener=started.opener,
            ),
        )

    @answers_bad_input
    async def reply_to_notice(self, update: Update, context: Context) -> None:
        """Telegram's reply to one of our notices about a dialog: the text goes to the
        prospect as `/say N` would send it. Any other plain text is not a command."""
        message = update.message
        assert message is not None
        replied = message.reply_to_message
        numbers: list[int] = []
        if replied is not None and replied.from_user is not None and replied.from_user.is_bot:
            numbers = dialogs_named_in(replied.text or replied.caption or "")
        if not numbers:
            await reply(update, context, self.t("not_a_command"))
            return
        if len(numbers) > 1:
            listed = ", ".join(str(n) for n in numbers)
            raise BadInput(self.t("reply_to_notice_ambiguous", numbers=listed))
        await reply(update, context, await self._say(numbers[0], storable(message.text or "")))

    async def inbox_button(self, update: Update, context: Context) -> None:
        """The buttons under an inbox notice: Reply asks for the text (a reply to that
        question is `/say N`), Resume AI and Stop do what /resume N and /stop N do."""
        query = update.callback_query
        assert query is not None
        await query.answer()
        match = _INBOX_BUTTON.match(query.data or "")
        if match is None:
            return
        action, n = match.group(1), int(match.group(2))
        if action == "reply":
            prompt = self.t("inbox_reply_prompt", n=n)
            await reply(update, context, prompt, reply_markup=ForceReply(selective=True))
            return
        try:
            answer = await (self._resume(n) if action == "resume" else self._stop(n))
        except BadInput as refused:
            answer = refused.text
        await reply(update, context, answer)

    async def _stop(self, n: int) -> str:
        try:
            changed = await self._control.stop(StopDialog(n))
        except (UnknownDialog, IllegalTransition) as error:
            raise self._refusal(error, n, "stop") from error
        return self.t("stopped", n=n, username=changed.username, cancelled=changed.cancelled)

    async def _resume(self, n: int) -> str:
        try:
            changed = await self._control.resume(ResumeDialog(n))
        except (UnknownDialog, IllegalTransition) as error:
            raise self._refusal(error, n, "resume") from error
        return self.t("resumed", n=n, username=changed.username)

    async def _say(self, n: int, text: str) -> str:
        """Queue the operator's `text` in dialog N (/say N, a reply to a notice)."""
        if not text.strip():
            raise BadInput(self.t("say_missing", example=self.t("say_example")))
        try:
            queued = await self._control.say(SayInDialog(n, text))
        except (UnknownDialog, DialogClosed) as error:
            raise self._refusal(error, n, "say") from error
        answer = self.t("say_queued", n=n, username=queued.username, account_id=queued.account_id)
        if queued.queued_before:
            answer += self.t("say_queued_behind", count=queued.queued_before)
        return answer

    def _refusal(self, error: Exception, n: int, action: str) -> BadInput:
        if isinstance(error, UnknownDialog):
            return BadInput(self.t("unknown_dialog", n=n))
        if isinstance(error, IllegalTransition):
            status = self.t.word("dialog_status", error.current)
            if error.current == error.target:
                return BadInput(self.t("already", n=n, status=status))
            action_word = self.t.word("action", action)
            return BadInput(self.t("cannot", n=n, status=status, action=action_word))
        if isinstance(error, DialogClosed):
            status = self.t.word("dialog_status", error.status)
            return BadInput(self.t("dialog_closed", n=n, status=status))
        raise error

    @answers_bad_input
    async def stop(self, update: Update, context: Context) -> None:
        """/stop N: close the dialog, cancel what is queued."""
        assert update.message is not None
        n, _ = dialog_number(command_tail(update.message), self.t, "stop")
        await reply(update, context, await self._stop(n))

    @answers_bad_input
    async def close(self, update: Update, context: Context) -> None:
        """/close N rejected|not_qualified [note]: a lost lead; nothing is sent."""
        assert update.message is not None
        example = "/close 12 rejected"
        n, rest = dialog_number(
            command_tail(update.message), self.t, "close", example=example, rest_allowed=True
        )
        word, note = split_first(rest)
        if not word:
            raise BadInput(self.t("close_reason_missing", usage=self.t.command_usage("close")))
        outcome = CLOSE_REASONS.get(word.lower().replace("-", "_"))
        if outcome is None:
            raise BadInput(
                self.t("close_reason_unknown", raw=word, usage=self.t.command_usage("close"))
            )
        try:
            changed = await self._control.close(CloseDialog(n, outcome, note))
        except (UnknownDialog, IllegalTransition) as error:
            raise self._refusal(error, n, "close") from error
        await reply(
            update,
            context,
            self.t(
                "closed_lost",
                n=n,
                username=changed.username,
                outcome=self.t.word("outcome", outcome),
                cancelled=changed.cancelled,
            ),
        )

    @answers_bad_input
    async def pause(self, update: Update, context: Context) -> None:
        """/pause N: AI off in the dialog."""
        assert update.message is not None
        n, _ = dialog_number(command_tail(update.message), self.t, "pause")
        try:
            changed = await self._control.pause(PauseDialog(n))
        except (UnknownDialog, IllegalTransition) as error:
            raise self._refusal(error, n, "pause") from error
        await reply(
            update,
            context,
            self.t("paused", n=n, username=changed.username, cancelled=changed.cancelled),
        )

    @answers_bad_input
    async def resume(self, update: Update, context: Context) -> None:
        """/resume N: AI on again."""
        assert update.message is not None
        n, _ = dialog_number(command_tail(update.message), self.t, "resume")
        await reply(update, context, await self._resume(n))

    @answers_bad_input
    async def say(self, update: Update, context: Context) -> None:
        """/say N <text>: queue the admin's own message in dialog N."""
        assert update.message is not None
        example = self.t("say_example")
        n, text = dialog_number(
            command_tail(update.message), self.t, "say", example=example, rest_allowed=True
        )
        await reply(update, context, await self._say(n, text))
