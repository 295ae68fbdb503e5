"""Review mode in the admin bot: a draft's four buttons, the replies they ask for, /review.

Under a draft's notice: Approve and Discard do it at once; Regenerate rewrites it at once
(a reply to the notice itself regenerates with the reply as the operator's instruction);
Edit asks for the text (ForceReply) and a reply to that question goes in the draft's place.
The notice and the question carry a tag (`#draft<id>`, `#edit<id>`) that names the draft,
as the inbox notices carry `/say N`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from telegram import ForceReply, Update

from salesbot.adapters.admin_bot.catalogue import Texts
from salesbot.adapters.admin_bot.handlers.common import (
    BadInput,
    Context,
    answers_bad_input,
    command_tail,
    dialog_number,
    reply,
)
from salesbot.application.admin.control_dialog import DialogControl, ReviewDialog
from salesbot.application.conversation.review_drafts import (
    ApproveDraft,
    DiscardDraft,
    DraftDecided,
    DraftReview,
    EditDraft,
    RegenerateDraft,
)
from salesbot.application.errors import (
    DialogClosed,
    DraftHeld,
    DraftNotRewritten,
    DraftNotWaiting,
    LlmRejected,
    LlmUnavailable,
    UnknownDialog,
)
from salesbot.domain.text import storable

_BUTTON = re.compile(r"^draft:(approve|edit|regen|discard):(\d+)$")
_TAG = re.compile(r"#(draft|edit)(\d+)\b")
_SWITCH = {"on": True, "off": False, "вкл": True, "выкл": False}

NoticeReply = Callable[[Update, Context], Awaitable[None]]


def draft_named_in(text: str) -> tuple[str, int] | None:
    """The draft a notice or a question is about: (`draft` | `edit`, message id)."""
    found = _TAG.findall(text)
    if len(found) != 1:
        return None
    tag, number = found[0]
    return tag, int(number)


class DraftCommands:
    def __init__(
        self,
        texts: Texts,
        drafts: DraftReview,
        control: DialogControl,
        *,
        other_replies: NoticeReply,
    ) -> None:
        self.t = texts
        self._drafts = drafts
        self._control = control
        self._other_replies = other_replies

    async def button(self, update: Update, context: Context) -> None:
        """Approve / Edit / Regenerate / Discard under a draft's notice."""
        query = update.callback_query
        assert query is not None
        match = _BUTTON.match(query.data or "")
        if match is None:
            await query.answer()
            return
        action, message_id = match.group(1), int(match.group(2))
        await query.answer(self.t("draft_regenerating") if action == "regen" else None)
        if action == "edit":
            try:
                waiting = await self._drafts.waiting(message_id)
            except DraftNotWaiting as error:
                await reply(update, context, self.t(f"draft_not_waiting.{error.state}"))
                return
            prompt = self.t(
                "draft_edit_prompt",
                n=waiting.dialog_id,
                username=waiting.username,
                message_id=message_id,
            )
            await reply(update, context, prompt, reply_markup=ForceReply(selective=True))
            return
        run = {"approve": self._approve, "regen": self._regenerate, "discard": self._discard}
        await reply(update, context, await self._answered(run[action], message_id))

    @answers_bad_input
    async def reply_to_notice(self, update: Update, context: Context) -> None:
        """A reply to a draft's notice (regenerate with this instruction) or to Edit's
        question (this text in the draft's place); any other reply goes on as before."""
        message = update.message
        assert message is not None
        replied = message.reply_to_message
        named = None
        if replied is not None and replied.from_user is not None and replied.from_user.is_bot:
            named = draft_named_in(replied.text or replied.caption or "")
        if named is None:
            await self._other_replies(update, context)
            return
        tag, message_id = named
        text = storable(message.text or "")
        if tag == "edit":
            if not text.strip():
                raise BadInput(self.t("draft_edit_missing"))
            answer = await self._answered(lambda n: self._edit(n, text), message_id)
        else:
            answer = await self._answered(lambda n: self._regenerate(n, text), message_id)
        await reply(update, context, answer)

    @answers_bad_input
    async def review(self, update: Update, context: Context) -> None:
        """/review N on|off: the AI's messages in dialog N wait for approval, or not."""
        assert update.message is not None
        example = "/review 12 on"
        n, rest = dialog_number(
            command_tail(update.message), self.t, "review", example=example, rest_allowed=True
        )
        switch = _SWITCH.get(rest.strip().lower())
        if switch is None:
            raise BadInput(self.t("review_switch_missing", usage=self.t.command_usage("review")))
        try:
            changed = await self._control.review(ReviewDialog(n, switch))
        except UnknownDialog as error:
            raise BadInput(self.t("unknown_dialog", n=n)) from error
        except DialogClosed as error:
            status = self.t.word("dialog_status", error.status)
            raise BadInput(self.t("dialog_closed", n=n, status=status)) from error
        key = "review_on" if switch else "review_off"
        await reply(update, context, self.t(key, n=n, username=changed.username))

    # --- each action, its answer -------------------------------------------------------------

    async def _answered(self, run: Callable[[int], Awaitable[str]], message_id: int) -> str:
        """The action's answer, or why nothing was done."""
        try:
            return await run(message_id)
        except DraftNotWaiting as error:
            return self.t(f"draft_not_waiting.{error.state}")
        except DraftHeld as error:
            status = self.t.word("dialog_status", error.status)
            return self.t("draft_held", n=error.dialog_id, status=status)
        except DraftNotRewritten as error:
            return self.t("draft_not_rewritten", reason=self.t.reason(error.reason))
        except LlmRejected as error:
            return self.t("llm_rejected", detail=error.detail or error.kind)
        except LlmUnavailable:
            return self.t("llm_unavailable")

    async def _approve(self, message_id: int) -> str:
        done = await self._drafts.approve(ApproveDraft(message_id))
        return self._told("draft_approved", done)

    async def _edit(self, message_id: int, text: str) -> str:
        done = await self._drafts.edit(EditDraft(message_id, text))
        return self._told("draft_edited", done)

    async def _regenerate(self, message_id: int, instruction: str = "") -> str:
        done = await self._drafts.regenerate(RegenerateDraft(message_id, instruction))
        return self._told("draft_rewritten", done)

    async def _discard(self, message_id: int) -> str:
        done = await self._drafts.discard(DiscardDraft(message_id))
        key = "draft_discarded_opener" if done.dialog_stopped else "draft_discarded"
        return self._told(key, done)

    def _told(self, key: str, done: DraftDecided) -> str:
        return self.t(key, n=done.dialog_id, username=done.username, account_id=done.account_id)
