"""A prospect wrote to one of our accounts: store it, honour an opt-out, answer once.

`handle` is what AccountConnections calls for every private message. It stores the message
once (Telegram may deliver it twice), ignores people we have no dialog with, and for an
active dialog cancels replies and follow-ups that were queued but not sent, then (re)starts
the dialog's debounce timer. When the prospect has been quiet for REPLY_DEBOUNCE_SECONDS,
one reply to everything they wrote is generated and queued; a message arriving meanwhile
restarts the timer, and the reply then sees it too.

While the model cannot answer, the reply job keeps waiting with growing pauses (the
MonitoredModel tells the admin once, and once more when it is back); a new message simply
replaces the waiting job. `answer_unanswered` at start-up finds active dialogs whose newest
message is the prospect's: a crash during the debounce window never loses a reply.
"""

from __future__ import annotations

import logging
import random
from collections import OrderedDict
from collections.abc import Collection
from typing import Generic, TypeVar

from salesbot.application.conversation.answer_prospect import DialogReplier, ReplyContext
from salesbot.application.conversation.apply_outcome import close_for_opt_out
from salesbot.application.conversation.debounce import KeyedJobs
from salesbot.application.conversation.prompt import speakable
from salesbot.application.conversation.queries import ConversationQueries
from salesbot.application.errors import (
    DatabaseUnavailable,
    LlmError,
    LlmRejected,
    LlmUnavailable,
)
from salesbot.application.ports import (
    AdminNotifier,
    Clock,
    IncomingMessage,
    TelegramMessenger,
    UnitOfWork,
    UnitOfWorkFactory,
)
from salesbot.domain.dialog import Dialog, DialogStatus
from salesbot.domain.events import Event, OperatorWrote, ProspectReplied, ProspectWroteToOperator
from salesbot.domain.media import message_content, spoken_words
from salesbot.domain.message import Delivery, Direction, Message, OutKind
from salesbot.domain.opt_out import KeywordOptOutDetector, OptOutDetector
from salesbot.domain.peer import Peer

logger = logging.getLogger(__name__)

Key = tuple[int, int]  # (account id, prospect's Telegram user id)
K = TypeVar("K")
V = TypeVar("V")

_CANCELLED_BY_NEW_MESSAGE = (OutKind.REPLY.value, OutKind.FOLLOW_UP.value)
_CANCELLED_BY_OPERATOR = (OutKind.OPENER.value, *_CANCELLED_BY_NEW_MESSAGE)
_FIRST_REPLY_WINDOW = 16


class Backoff:
    """Growing pauses with jitter: `base`, 2x, 4x ... up to `cap` seconds."""

    def __init__(self, base: float, cap: float) -> None:
        self.base, self.cap = base, cap

    def delay(self, attempt: int) -> float:
        step = min(self.cap, self.base * 2.0 ** min(attempt, 20))
        return step * random.uniform(0.8, 1.0)


class IncomingMessages:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        queries: ConversationQueries,
        replier: DialogReplier,
        messenger: TelegramMessenger,
        notifier: AdminNotifier,
        clock: Clock,
        *,
        debounce_seconds: float = 20.0,
        opt_out_detector: OptOutDetector | None = None,
        unavailable_backoff: Backoff | None = None,
        rejected_backoff: Backoff | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._queries = queries
        self._replier = replier
        self._messenger = messenger
        self._notifier = notifier
        self._clock = clock
        self._debounce = debounce_seconds
        self._detector = opt_out_detector or KeywordOptOutDetector()
        self._unavailable = unavailable_backoff or Backoff(5, 300)
        self._rejected = rejected_backoff or Backoff(60, 900)
        self._jobs = KeyedJobs("reply job")
        # Facts that never change, remembered to save a query per message.
        self._peers: _Lru[Key, Peer] = _Lru(10_000)
        self._replied: _Lru[int, bool] = _Lru(50_000)  # dialogs the prospect answered

    # --- the prospect writes ---------------------------------------------------------------

    async def expects(self, msg: IncomingMessage) -> bool:
        """Whether the message would be stored: its sender has a dialog with the account."""
        async with self._uow_factory() as uow:
            dialog = await uow.dialogs.find_for_incoming(
                msg.account_id,
                msg.user_id,
                username=msg.username.lower() if msg.username else None,
            )
        return dialog is not None

    async def handle(self, msg: IncomingMessage, *, mark_read: bool = True) -> None:
        key: Key = (msg.account_id, msg.user_id)
        events: list[Event] = []
        async with self._jobs.lock(key):
            async with self._uow_factory() as uow:
                dialog = await uow.dialogs.find_for_incoming(
                    msg.account_id,
                    msg.user_id,
                    username=msg.username.lower() if msg.username else None,
                )
                if dialog is None:
                    return
                assert dialog.id is not None
                if dialog.target_user_id is None:
                    # Adopted from the seed's database, which never stored user ids.
                    dialog.target_user_id = msg.user_id
                    await uow.dialogs.update(dialog)
                now = self._clock.now()
                content = message_content(msg.text, msg.media)
                opt_out = self._detector.is_opt_out(spoken_words(msg.text, msg.media))
                # What a new message makes obsolete goes with storing it, in one write;
                # a message delivered twice cancels nothing.
                answerable = _answerable(dialog, opt_out)
                stored = await uow.messages.add_incoming(
                    Message.incoming(
                        dialog.id,
                        msg.account_id,
                        content,
                        now,
                        msg.telegram_message_id,
                        media=msg.media,
                    ),
                    cancel_pending=_CANCELLED_BY_NEW_MESSAGE if answerable else (),
                )
                if stored is None:
                    logger.debug(
                        "dialog %s: message %s seen before", dialog.id, msg.telegram_message_id
                    )
                    seen_before = True
                else:
                    seen_before = False
                    answer = await self._take(uow, dialog, stored, msg, events, opt_out=opt_out)
                    context = None
                    if answer and self._debounce <= 0:
                        # Answered at once: what the model needs is read in this transaction.
                        context = await self._replier.read_context(uow, dialog.id, dialog)
                    if not answer:  # an answer writes the dialog anyway, a moment later
                        dialog.last_activity_at = now
                        await uow.dialogs.update(dialog)
                    peer = self._peers.get(key)
                    if peer is None:
                        peer = await uow.peers.get_by_user_id(msg.account_id, msg.user_id)
                        if peer is not None:
                            self._peers.put(key, peer)
                    await uow.commit()
            if seen_before:
                # Stored before, but perhaps never answered: a commit whose answer the lost
                # database connection never gave back comes here as a message seen before.
                if answerable:
                    await self.answer_unanswered_in(dialog.id)
                return
            if answer:
                dialog_id = dialog.id
                self._jobs.replace(
                    key, lambda: self._reply_job(key, dialog_id, self._debounce, context)
                )
            else:
                self._jobs.cancel(key)
        for event in events:
            await self._notifier.notify(event)
        if mark_read:
            await self._mark_read(msg, peer)

    # --- someone writes from the account itself ----------------------------------------------

    async def handle_own(self, msg: IncomingMessage) -> None:
        """A message the account sent from elsewhere. One of salesbot's own sends (its
        Telegram id recorded already, or the text of a message of the dialog being sent
        right now) is nothing new. Anything else a person wrote in the Telegram app: it is
        stored as the operator's message, what the AI had queued is cancelled, and the
        dialog's AI pauses so it does not talk over them; the admin is told."""
        key: Key = (msg.account_id, msg.user_id)
        async with self._jobs.lock(key):
            async with self._uow_factory() as uow:
                dialog = await uow.dialogs.find_for_incoming(
                    msg.account_id, msg.user_id, username=msg.username
                )
                if dialog is None or dialog.id is None:
                    return
                sending = await uow.messages.list_by_delivery(Delivery.SENDING, dialog_id=dialog.id)
                if msg.media is None and any(m.is_sent_as(msg.text) for m in sending):
                    return  # ours, on its way: the dispatcher records its Telegram id
                now = self._clock.now()
                content = message_content(msg.text, msg.media)
                stored = await uow.messages.add_incoming(
                    Message.written_in_app(
                        dialog.id,
                        msg.account_id,
                        content,
                        now,
                        msg.telegram_message_id,
                        media=msg.media,
                    ),
                    cancel_pending=_CANCELLED_BY_OPERATOR,
                )
                if stored is None:
                    return  # recorded before: one of ours, or seen already
                paused = dialog.ai_enabled
                if paused:
                    dialog.pause("written from the Telegram app")
                dialog.last_activity_at = now
                await uow.dialogs.update(dialog)
                await uow.commit()
            self._jobs.cancel(key)
        logger.info(
            "dialog %s: a message was written from the Telegram app%s",
            dialog.id,
            "; the AI is paused" if paused else "",
        )
        await self._notifier.notify(
            OperatorWrote(dialog.id, dialog.target_username, content, paused=paused)
        )

    async def _take(
        self,
        uow: UnitOfWork,
        dialog: Dialog,
        stored: Message,
        msg: IncomingMessage,
        events: list[Event],
        *,
        opt_out: bool,
    ) -> bool:
        """Apply the message to the dialog; True when the AI should answer it (its queued
        replies and follow-ups were cancelled as it was stored)."""
        assert dialog.id is not None
        if dialog.status is DialogStatus.OPTED_OUT:
            return False
        if opt_out:
            logger.info("dialog %s: the prospect asked to stop writing", dialog.id)
            if dialog.target_user_id is None:
                dialog.target_user_id = msg.user_id
            events += await close_for_opt_out(
                uow, dialog, now=stored.timestamp, reason=f"asked to stop: {stored.content[:200]}"
            )
            return False
        if not dialog.ai_enabled:
            # Nobody else will answer: the operator reads every message of it, not only the
            # first (the inbox).
            self._replied.put(dialog.id, True)
            events.append(
                ProspectWroteToOperator(
                    dialog.id,
                    dialog.target_username,
                    dialog.account_id,
                    stored.content,
                    dialog.status.value,
                    stored.media,
                )
            )
        elif await self._is_first_reply(uow, dialog.id, stored):
            events.append(
                ProspectReplied(dialog.id, dialog.target_username, stored.content, stored.media)
            )
        return _answerable(dialog, opt_out)

    async def _is_first_reply(self, uow: UnitOfWork, dialog_id: int, stored: Message) -> bool:
        if self._replied.get(dialog_id):
            return False
        recent = await uow.messages.list_for_dialog(dialog_id, last=_FIRST_REPLY_WINDOW)
        if len(recent) >= _FIRST_REPLY_WINDOW and not _other_incoming(recent, stored):
            recent = await uow.messages.list_for_dialog(dialog_id)
        first = not _other_incoming(recent, stored)
        # Remembered only once committed would be exact; a rolled-back first reply is
        # announced as a later one at worst, which harms nobody.
        self._replied.put(dialog_id, True)
        return first

    async def _mark_read(self, msg: IncomingMessage, peer: Peer | None) -> None:
        if peer is None:
            return
        try:
            await self._messenger.mark_read(msg.account_id, peer)
        except Exception as error:  # best effort: an unread chat harms nobody
            logger.debug("could not mark the chat with %s read: %s", msg.user_id, error)

    # --- answering -------------------------------------------------------------------------

    async def _reply_job(
        self, key: Key, dialog_id: int, delay: float, context: ReplyContext | None = None
    ) -> None:
        if delay > 0:
            await self._clock.sleep(delay)
            context = None  # things may have changed while we waited: the replier reads
        attempt = 0
        while True:
            try:
                await self._replier.reply(
                    dialog_id, write_lock=lambda: self._jobs.lock(key), context=context
                )
                return
            except LlmError as error:
                if not isinstance(error, LlmRejected) and self._replier.failed(dialog_id):
                    await self._hand_over(dialog_id, str(error))
                    return
                wait = self._wait_after(error, attempt)
                logger.warning(
                    "dialog %s: the reply waits %.0f s for the language model: %s",
                    dialog_id,
                    wait,
                    error,
                )
            except DatabaseUnavailable as error:
                wait = self._unavailable.delay(attempt)
                logger.warning(
                    "dialog %s: the reply waits %.0f s for the database: %s", dialog_id, wait, error
                )
            attempt += 1
            context = None
            await self._clock.sleep(wait)

    async def _hand_over(self, dialog_id: int, detail: str) -> None:
        while True:
            try:
                await self._replier.hand_over(dialog_id, detail)
                return
            except DatabaseUnavailable as error:
                logger.warning(
                    "dialog %s: the hand-over waits for the database: %s", dialog_id, error
                )
                await self._clock.sleep(self._unavailable.delay(0))

    def _wait_after(self, error: LlmError, attempt: int) -> float:
        if isinstance(error, LlmRejected):
            return self._rejected.delay(attempt)
        wait = self._unavailable.delay(attempt)
        if isinstance(error, LlmUnavailable) and error.retry_after:
            wait = max(wait, error.retry_after)
        return wait

    async def answer_unanswered(self) -> int:
        """Schedule a reply for every active dialog whose newest message is the prospect's."""
        found: list[Dialog] = []
        async with self._uow_factory() as uow:
            for dialog_id in await self._queries.awaiting_answer():
                dialog = await uow.dialogs.get(dialog_id)
                if dialog is not None and dialog.target_user_id is not None:
                    found.append(dialog)
        for dialog in found:
            assert dialog.id is not None and dialog.target_user_id is not None
            self._schedule_reply((dialog.account_id, dialog.target_user_id), dialog.id)
        if found:
            logger.info("answering %d dialog(s) left unanswered at the last stop", len(found))
        return len(found)

    async def answer_unanswered_in(self, dialog_id: int) -> bool:
        """Schedule a reply for one dialog if the AI may talk in it and its newest message
        is the prospect's (e.g. written while the dialog was paused); True when a reply is
        scheduled. A reply job already waiting for the dialog is left to run as it is."""
        async with self._uow_factory() as uow:
            dialog = await uow.dialogs.get(dialog_id)
            if dialog is None or not dialog.ai_enabled or dialog.target_user_id is None:
                return False
            if not await _awaits_answer(uow, dialog_id):
                return False
        key: Key = (dialog.account_id, dialog.target_user_id)
        if not self._jobs.is_scheduled(key):
            self._schedule_reply(key, dialog_id)
        logger.info("dialog %s: answering what the prospect wrote meanwhile", dialog_id)
        return True

    def _schedule_reply(self, key: Key, dialog_id: int) -> None:
        """A reply job for the dialog now, in place of one waiting (no debounce)."""
        self._jobs.replace(key, lambda: self._reply_job(key, dialog_id, 0))

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def pending_replies(self) -> int:
        """Reply jobs waiting out their debounce window or for the model."""
        return len(self._jobs)

    async def drain(self) -> None:
        """Wait until every scheduled reply is written (tests, the rehearsal)."""
        await self._jobs.drain()

    async def aclose(self) -> None:
        """Stop waiting: replies not yet written are answered by `answer_unanswered` next
        start."""
        await self._jobs.close()


class _Lru(Generic[K, V]):
    """A small least-recently-used map."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self._size:
            self._items.popitem(last=False)


def _answerable(dialog: Dialog, opt_out: bool) -> bool:
    """Whether the AI answers a new message of the prospect in this dialog."""
    return dialog.status is not DialogStatus.OPTED_OUT and not opt_out and dialog.ai_enabled


def _other_incoming(messages: Collection[Message], stored: Message) -> bool:
    return any(m.direction is Direction.IN and m.id != stored.id for m in messages)


async def _awaits_answer(uow: UnitOfWork, dialog_id: int) -> bool:
    """Whether the newest message the prospect saw or wrote is theirs."""
    recent = speakable(await uow.messages.list_for_dialog(dialog_id, last=8))
    return bool(recent) and recent[-1].direction is Direction.IN
