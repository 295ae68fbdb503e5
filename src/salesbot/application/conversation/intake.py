"""Where every message from Telegram enters: made storable, then stored, whatever it takes.

The adapters call `receive` for each private message of an account, one at a time per
account and in Telegram's order, and count the message handled (move the account's update
state past it) only when `receive` returns. So `receive` returns only once the message is
stored, or known to be of no interest: while PostgreSQL does not answer it waits with
growing pauses, and the account's later messages wait behind it, in order, in memory. The
hold is bounded by the database watch's grace: after that the process ends, nothing held
was acknowledged, and the next start is given it again by Telegram (getDifference). The
admin hears of the outage once each way (DatabaseHealth), and the log gets one line, not
one traceback per message.

A voice note from a prospect salesbot talks to is transcribed first when a transcriber is
configured (`transcribe_media.py`), once, before it is stored: the transcript is stored
with it, or its description alone when there is none.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from salesbot.application.conversation.receive_message import Backoff, IncomingMessages
from salesbot.application.conversation.transcribe_media import MediaTranscription
from salesbot.application.database_health import DatabaseHealth
from salesbot.application.errors import DatabaseUnavailable
from salesbot.application.ports import Clock, IncomingMessage
from salesbot.domain.text import storable

log = logging.getLogger(__name__)


class Intake:
    def __init__(
        self,
        conversation: IncomingMessages,
        health: DatabaseHealth,
        clock: Clock,
        *,
        backoff: Backoff | None = None,
        transcription: MediaTranscription | None = None,
    ) -> None:
        self._conversation = conversation
        self._transcription = transcription
        self._health = health
        self._clock = clock
        self._backoff = backoff or Backoff(1, 30)
        self.waiting = 0
        """Messages waiting for the database right now (at most one per account)."""

    async def __call__(self, message: IncomingMessage) -> None:
        await self.receive(message)

    async def receive(self, message: IncomingMessage, *, mark_read: bool = True) -> None:
        """Store the message (the prospect's, or one written from the account elsewhere);
        returns once it is stored or of no interest."""
        message = replace(message, text=storable(message.text))
        if message.username is not None:
            message = replace(message, username=storable(message.username))
        if message.media is not None:
            message = replace(message, media=message.media.storable())
        transcribe = self._transcription is not None and self._transcription.applies_to(message)
        attempt = 0
        try:
            while True:
                try:
                    if transcribe and self._transcription is not None:
                        # Only for someone we talk to: a stranger's file is never fetched.
                        if await self._conversation.expects(message):
                            message = await self._transcription(message)
                        transcribe = False
                    if message.outgoing:
                        await self._conversation.handle_own(message)
                    else:
                        await self._conversation.handle(message, mark_read=mark_read)
                except DatabaseUnavailable as error:
                    if attempt == 0:
                        self.waiting += 1
                        log.debug(
                            "account %s: message %s waits for the database",
                            message.account_id, message.telegram_message_id,
                        )
                    await self._health.down(error)
                    await self._clock.sleep(self._backoff.delay(attempt))
                    attempt += 1
                    continue
                break
        finally:
            if attempt:
                self.waiting -= 1
        if attempt:
            await self._health.up()
