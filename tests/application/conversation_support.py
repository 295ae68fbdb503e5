"""A small world for the conversation engine's tests: the service's own container
(tests/wiring.py) with fakes of every outside system, plus a clock whose `sleep` waits
until the test moves time on (so a debounce window is something a test can be inside of).

On the in-memory store by default; with `engine` (the `engine` fixture) on PostgreSQL,
which what reads across dialogs (follow-up candidates, unanswered dialogs) needs."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from salesbot.application.conversation.answer_prospect import DialogReplier
from salesbot.application.conversation.model_health import MonitoredModel
from salesbot.application.conversation.receive_message import IncomingMessages
from salesbot.application.conversation.sales_script import SalesScript
from salesbot.application.conversation.send_follow_ups import FollowUps
from salesbot.application.conversation.start_dialog import StartDialog, StartDialogHandler
from salesbot.application.conversation.write_reply import ReplyWriter
from salesbot.application.outbox.typing_pace import NO_TYPING
from salesbot.application.ports import IncomingMessage
from salesbot.domain.account import Account
from salesbot.domain.dialog import Dialog
from salesbot.domain.message import Delivery, Direction, Message
from salesbot.domain.quota import SendQuota
from salesbot.entrypoints.timing import Timing
from tests.application.telegram_world import FakeLocks
from tests.fakes import (
    FakeLanguageModel,
    FakeNotifier,
    FakeTelegram,
    FakeUnitOfWork,
    InMemoryStore,
)
from tests.wiring import container_for, settings_for_tests

SCRIPT = (
    "# Sales script: Zapis+\n"
    "You write for Zapis+, an online booking service for beauty salons with reminders that "
    "cut no-shows. Offer: 14 days free and free set-up. Goal: agree on a 15-minute demo call "
    "with a manager and learn a suitable day and time.\n"
)


def answer(
    reply: str,
    *,
    stage: str = "qualification",
    warmth: int = 30,
    outcome: str = "continue",
    summary: str = "Salon owner, 3 masters\nNext: ask about no-shows",
) -> str:
    """The model's JSON answer as we ask for it."""
    return json.dumps(
        {"reply": reply, "stage": stage, "warmth": warmth, "outcome": outcome, "summary": summary},
        ensure_ascii=False,
    )


class SteppingClock:
    """`sleep` blocks until `advance` moves time past its deadline."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._order = 0
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._order += 1
        entry = (self._now + timedelta(seconds=seconds), self._order, future)
        self._sleepers.append(entry)
        try:
            await future
        finally:
            if entry in self._sleepers:
                self._sleepers.remove(entry)

    @property
    def sleeping(self) -> int:
        return sum(1 for _, _, f in self._sleepers if not f.done())

    async def advance(self, seconds: float = 0, **delta: float) -> None:
        """Move time on, waking each sleeper at its own deadline in order."""
        target = self._now + timedelta(seconds=seconds, **delta)
        await settle()
        while True:
            due = sorted(
                (s for s in self._sleepers if s[0] <= target and not s[2].done()),
                key=lambda s: (s[0], s[1]),
            )
            if not due:
                break
            deadline, _, future = due[0]
            self._now = max(self._now, deadline)
            future.set_result(None)
            await settle()
        self._now = target
        await settle()


async def settle(rounds: int = 60) -> None:
    """Let every runnable task run until it waits on something."""
    for _ in range(rounds):
        await asyncio.sleep(0)


@dataclass(frozen=True)
class Conversation:
    """The conversation's use-cases, as the container built them."""

    script: SalesScript
    model: MonitoredModel
    writer: ReplyWriter
    replier: DialogReplier
    start_dialog: StartDialogHandler
    incoming: IncomingMessages
    follow_ups: FollowUps


@dataclass
class World:
    tmp_path: Path
    debounce: float = 20.0
    token_budget: int = 6000
    max_follow_ups: int = 1
    follow_up_after_hours: float = 24.0
    disclosure: bool = False
    warmup_days: int = 0
    script_text: str = SCRIPT
    working_hours: str = "always"
    working_days: str = "all"
    review_mode: str = "off"
    clock: SteppingClock = field(default_factory=SteppingClock)
    store: InMemoryStore = field(default_factory=InMemoryStore)
    llm: FakeLanguageModel = field(default_factory=FakeLanguageModel)
    notifier: FakeNotifier = field(default_factory=FakeNotifier)
    engine: AsyncEngine | None = None
    """PostgreSQL instead of the in-memory store."""

    def __post_init__(self) -> None:
        self.telegram = FakeTelegram(self.clock)
        script_file = self.tmp_path / "script.md"
        script_file.write_text(self.script_text, encoding="utf-8")
        self.settings = settings_for_tests(
            SALES_PROMPT_FILE=script_file,
            MAX_DAILY_MESSAGES=20,
            MIN_MESSAGE_DELAY=30,
            TIMEZONE="UTC",
            WARMUP_DAYS=self.warmup_days,
            REPLY_DEBOUNCE_SECONDS=self.debounce,
            LLM_HISTORY_TOKEN_BUDGET=self.token_budget,
            MAX_FOLLOW_UPS=self.max_follow_ups,
            FOLLOW_UP_AFTER_HOURS=self.follow_up_after_hours,
            AI_DISCLOSURE="opener" if self.disclosure else "off",
            WORKING_HOURS=self.working_hours,
            WORKING_DAYS=self.working_days,
            REVIEW_MODE=self.review_mode,
        )
        self.container = container_for(
            self.settings,
            engine=self.engine,
            uow=None if self.engine is not None else self.uow,
            telegram=self.telegram,
            llm=self.llm,
            notifier=self.notifier,
            clock=self.clock,
            locks=FakeLocks(),
            # Accounts are connected at once here: the takeover wait (a sleep nobody
            # advances) is tests/application/accounts/test_fencing.py's subject.
            timing=Timing(typing=NO_TYPING, takeover_wait=0.0),
        )
        container = self.container
        self.quota: SendQuota = container.quota()
        self.conversation = Conversation(
            script=container.sales_script(),
            model=container.model(),
            writer=container.writer(),
            replier=container.replier(),
            start_dialog=container.start_dialog(),
            incoming=container.incoming(),
            follow_ups=container.follow_ups(),
        )

    def uow(self) -> FakeUnitOfWork:
        """A unit of work on the store (or the database); raises the next of
        `uow_failures` first, if any (the database going away for a moment)."""
        failures = getattr(self, "uow_failures", None)
        if failures:
            raise failures.pop(0)
        if self.engine is not None:
            return self.container.uow_factory()()  # type: ignore[no-any-return]
        return FakeUnitOfWork(self.store)

    @property
    def incoming(self):
        return self.conversation.incoming

    # --- set-up ----------------------------------------------------------------------------

    _first_account: int = 0

    async def add_account(self, phone: str = "+79990000001", **fields: object) -> Account:
        async with self.uow() as uow:
            account = await uow.accounts.add(
                Account(
                    phone=phone,
                    session_string=f"s-{phone}",
                    created_at=self.clock.now() - timedelta(days=30),
                    **fields,  # type: ignore[arg-type]
                )
            )
            await uow.commit()
        await self.telegram.connect(account, [])
        assert account.id is not None
        self._first_account = self._first_account or account.id
        return account

    async def start(
        self,
        username: str = "salon_owner",
        user_id: int = 5001,
        notes: str = "",
        opener: str = "Здравствуйте! Я ИИ-ассистент Запись+. Удобно пару минут?",
    ) -> int:
        """Start a dialog and deliver the opener, as the Dispatcher would."""
        self.telegram.add_user(username, user_id)
        self.llm.queue(answer(opener, stage="introduction", warmth=0))
        started = await self.conversation.start_dialog(StartDialog(username, notes))
        await self.deliver_pending()
        return started.dialog_id

    # --- the outside world -----------------------------------------------------------------

    async def write(
        self,
        text: str,
        *,
        user_id: int = 5001,
        account_id: int | None = None,
        message_id: int | None = None,
        username: str | None = None,
    ) -> IncomingMessage:
        """The prospect writes; the handler runs as Pyrogram would call it."""
        if account_id is None:
            account_id = self._first_account
        self._ids = getattr(self, "_ids", 1000) + 1
        msg = IncomingMessage(
            account_id=account_id,
            user_id=user_id,
            username=username,
            text=text,
            telegram_message_id=message_id if message_id is not None else self._ids,
            date=self.clock.now(),
        )
        await self.incoming.handle(msg)
        return msg

    async def deliver_pending(self) -> list[str]:
        """Stand in for the Dispatcher: every pending message is sent now, in order."""
        sent = []
        async with self.uow() as uow:
            pending = await uow.messages.list_by_delivery(Delivery.PENDING)
            for message in sorted(pending, key=lambda m: (m.send_after, m.id)):
                message.delivery = Delivery.SENT
                message.sent_at = self.clock.now()
                await uow.messages.update(message)
                sent.append(message.content)
            await uow.commit()
        return sent

    # --- looking (on the in-memory store) ----------------------------------------------------

    def dialog(self, dialog_id: int) -> Dialog:
        return self.store.tables.dialogs[dialog_id]

    def messages(self, dialog_id: int) -> list[Message]:
        return sorted(
            (m for m in self.store.tables.messages.values() if m.dialog_id == dialog_id),
            key=lambda m: (m.timestamp, m.id),
        )

    def pending(self, dialog_id: int) -> list[str]:
        return [m.content for m in self.messages(dialog_id) if m.delivery is Delivery.PENDING]

    def incoming_texts(self, dialog_id: int) -> list[str]:
        return [m.content for m in self.messages(dialog_id) if m.direction is Direction.IN]

    def drafts(self, dialog_id: int) -> list[Message]:
        return [m for m in self.messages(dialog_id) if m.delivery is Delivery.DRAFT]

    def cancelled(self, dialog_id: int) -> list[str]:
        return [m.content for m in self.messages(dialog_id) if m.delivery is Delivery.CANCELLED]

    # --- looking (on either: the store or the database) ---------------------------------------

    async def read_dialog(self, dialog_id: int) -> Dialog:
        async with self.uow() as uow:
            found = await uow.dialogs.get(dialog_id)
        assert found is not None
        return found

    async def read_messages(self, dialog_id: int) -> list[Message]:
        async with self.uow() as uow:
            return await uow.messages.list_for_dialog(dialog_id)

    async def read_account(self, account_id: int) -> Account:
        async with self.uow() as uow:
            found = await uow.accounts.get(account_id)
        assert found is not None
        return found
