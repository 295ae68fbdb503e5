"""A prospect's voice note (audio, video note) turned into words, when a transcriber is set.

Optional (TRANSCRIBE_BASE_URL): without it, a voice note is stored as its description,
`[voice 0:14]`, and the model asks for text or hands off. With it, the file is fetched into
memory through the account that received it, sent to the transcriber, and the transcript
joins the dialog as the prospect's words, marked transcribed. Whatever goes wrong (the file
cannot be had, the endpoint is down or says nothing) the message keeps its description: it
is never lost for a transcript, and no failure here goes further than a log line.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from salesbot.application.ports import IncomingMessage, MediaFiles, Transcriber

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024
"""Bigger files are not fetched (the Bot API's own download limit; OpenAI's is 25 MB)."""

_FILE_NAMES = {"voice": "voice.ogg", "video_note": "video_note.mp4", "audio": "audio.mp3"}
_MIME_TYPES = {"voice": "audio/ogg", "video_note": "video/mp4", "audio": "audio/mpeg"}


class MediaTranscription:
    def __init__(
        self, files: MediaFiles, transcriber: Transcriber, *, max_bytes: int = MAX_FILE_BYTES
    ) -> None:
        self._files = files
        self._transcriber = transcriber
        self._max_bytes = max_bytes

    @staticmethod
    def applies_to(message: IncomingMessage) -> bool:
        """Whether the message holds speech not yet transcribed, from the prospect."""
        media = message.media
        return (
            media is not None
            and not message.outgoing
            and media.kind.is_spoken
            and media.transcript is None
            and media.file_id is not None
        )

    async def __call__(self, message: IncomingMessage) -> IncomingMessage:
        """The message with its transcript, or as it was when there is none to be had."""
        if not self.applies_to(message):
            return message
        media = message.media
        assert media is not None
        kind = media.kind.value
        try:
            audio = await self._files.download(message.account_id, media, max_bytes=self._max_bytes)
            text = await self._transcriber.transcribe(
                audio,
                file_name=media.file_name or _FILE_NAMES[kind],
                mime_type=media.mime_type or _MIME_TYPES[kind],
            )
        except Exception as error:  # never lose the message for a transcript
            log.warning(
                "account %s: message %s (%s) kept untranscribed: %s: %s",
                message.account_id, message.telegram_message_id, kind,
                type(error).__name__, error,
            )
            return message
        if not text.strip():
            log.info(
                "account %s: message %s (%s): no words in it",
                message.account_id, message.telegram_message_id, kind,
            )
            return message
        return replace(message, media=media.transcribed(text))
