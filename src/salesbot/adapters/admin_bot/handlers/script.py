"""/prompt shows the sales script; /set_prompt replaces it from text or an uploaded .txt:
`/set_prompt <text>`, a .txt sent with the caption `/set_prompt`, or `/set_prompt` alone and
then the text or the file."""

from __future__ import annotations

from typing import Any, Protocol

from telegram import Document, Update
from telegram.ext import BaseHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from salesbot.adapters.admin_bot.catalogue import Texts
from salesbot.adapters.admin_bot.handlers.common import (
    BadInput,
    Context,
    answers_bad_input,
    command_tail,
    reply,
)
from salesbot.application.conversation.sales_script import MAX_SCRIPT_CHARS, SalesScriptUnavailable
from salesbot.domain.text import storable

WAITING = 0
# UTF-8 takes at most 4 bytes a character: a larger file cannot be a script that fits.
PROMPT_MAX_BYTES = 4 * MAX_SCRIPT_CHARS
_CAPTION = r"^/set_prompt(@\w+)?(\s|$)"


class ScriptStore(Protocol):
    """`SalesScript` of application/sales_script.py."""

    async def get(self) -> str: ...

    async def set(self, text: str) -> None: ...


class ScriptCommands:
    def __init__(self, texts: Texts, script: ScriptStore) -> None:
        self.t = texts
        self._script = script

    def conversation(self, admin: filters.BaseFilter) -> BaseHandler[Update, Context, Any]:
        message = admin & filters.UpdateType.MESSAGE
        return ConversationHandler(
            entry_points=[
                CommandHandler("set_prompt", self.begin, filters=message),
                MessageHandler(
                    message & filters.Document.ALL & filters.CaptionRegex(_CAPTION),
                    self.from_document,
                ),
            ],
            states={
                WAITING: [
                    MessageHandler(message & filters.TEXT & ~filters.COMMAND, self.from_text),
                    MessageHandler(message & filters.Document.ALL, self.from_document),
                ],
            },
            fallbacks=[CommandHandler("cancel", self.cancel, filters=admin)],
            allow_reentry=True,
            name="set_prompt",
        )

    async def show(self, update: Update, context: Context) -> None:
        """/prompt: the sales script the AI writes by."""
        try:
            text = await self._script.get()
        except SalesScriptUnavailable as error:
            await reply(update, context, self.t("prompt_unavailable", detail=str(error)))
            return
        await reply(update, context, self.t("prompt_current", chars=len(text), text=text))

    @answers_bad_input
    async def begin(self, update: Update, context: Context) -> int:
        """/set_prompt [text]: replace now, or wait for the text or a file."""
        assert update.message is not None
        text = command_tail(update.message)
        if not text:
            await reply(update, context, self.t("set_prompt_ask"))
            return WAITING
        return await self._save(update, context, text)

    @answers_bad_input
    async def from_text(self, update: Update, context: Context) -> int:
        assert update.message is not None
        return await self._save(update, context, update.message.text or "")

    @answers_bad_input
    async def from_document(self, update: Update, context: Context) -> int:
        """A .txt file (UTF-8) holding the script."""
        assert update.message is not None and update.message.document is not None
        text = await self._read(update.message.document)
        return await self._save(update, context, text)

    async def _read(self, document: Document) -> str:
        name = document.file_name or "?"
        is_text = name.lower().endswith(".txt") or document.mime_type == "text/plain"
        if not is_text:
            raise BadInput(self.t("prompt_not_txt", name=name))
        if document.file_size and document.file_size > PROMPT_MAX_BYTES:
            raise BadInput(
                self.t(
                    "prompt_too_big",
                    name=name,
                    size=document.file_size // 1024,
                    limit=PROMPT_MAX_BYTES // 1024,
                )
            )
        data = await (await document.get_file()).download_as_bytearray()
        try:
            return bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise BadInput(self.t("prompt_not_utf8", name=name)) from error

    async def _save(self, update: Update, context: Context, text: str) -> int:
        text = storable(text).strip()
        if not text:
            raise BadInput(self.t("prompt_blank"))
        if len(text) > MAX_SCRIPT_CHARS:
            raise BadInput(self.t("prompt_too_long", chars=len(text), limit=MAX_SCRIPT_CHARS))
        await self._script.set(text)
        await reply(update, context, self.t("prompt_saved", chars=len(text)))
        return ConversationHandler.END

    async def cancel(self, update: Update, context: Context) -> int:
        """/cancel while a new script is awaited."""
        await reply(update, context, self.t("cancelled"))
        return ConversationHandler.END
