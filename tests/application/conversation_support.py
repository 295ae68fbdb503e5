"""A small world for the conversation engine's tests: fakes of every port, wired by the
same `build_conversation` the service uses, plus a clock whose `sleep` waits until the
test moves time on (so a debounce window is something a test can be inside of)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from salesbot.application.conversation.engine import (
    Conversation,
    ConversationConfig,
    build_conversation,
)
from salesbot.application.conversation.start_dialog import StartDialog
from salesbot.application.ports import IncomingMessage
from salesbot.domain.account import Account
from salesbot.domain.dialog import Dialog
from salesbot.domain.message import Delivery, Direction, Message
from salesbot.domain.quota import SendQuota
from tests.fakes import (
    FakeLanguageModel,
    FakeNotifier,
    FakeTelegram,
    FakeUnitOfWork,
    InMemoryStore,
)

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


@dataclass
class World:
    tmp_path: Path
    debounce: float = 20.0
    token_budget: int = 6000
    max_follow_ups: int = 1
    follow_up_after_hours: float = 24.0
    disclosure: str = ""
    warmup_days: int = 0
    script_text: str = SCRIPT
    clock: SteppingClock = field(default_factory=SteppingClock)
    store: InMemoryStore = field(default_factory=InMemoryStore)
    llm: FakeLanguageModel = field(default_factory=FakeLanguageModel)
    notifier: FakeNotifier = field(default_factory=FakeNotifier)

    def __post_init__(self) -> None:
        self.telegram = FakeTelegram(self.clock)
        script_file = self.tmp_path / "script.md"
        script_file.write_text(self.script_text, encoding="utf-8")
        self.config = ConversationConfig(
            prompt_file=script_file,
            quota=SendQuota(
                max_daily=20,
                min_delay=timedelta(seconds=30),
                tz=timezone.utc,
                warmup_days=self.warmup_days,
            ),
            debounce_seconds=self.debounce,
            token_budget=self.token_budget,
            max_follow_ups=self.max_follow_ups,
            follow_up_after_hours=self.follow_up_after_hours,
            disclosure=self.disclosure,
        )
        self.conversation: Conversation = build_conversation(
            uow_factory=self.uow,
            connections=self.telegram,
            messenger=self.telegram,
            llm=self.llm,
            notifier=self.notifier,
            clock=self.clock,
            config=self.config,
        )

    def uow(self) -> FakeUnitOfWork:
        """A unit of work on the store; raises the next of `uow_failures` first, if any
        (the database going away for a moment)."""
        failures = getattr(self, "uow_failures", None)
        if failures:
            raise failures.pop(0)
        return FakeUnitOfWork(self.store)

    @property
    def incoming(self):
        return self.conversation.incoming

    # --- set-up ----------------------------------------------------------------------------

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
        return account

    async def start(
        self,
        username: str = "salon_owner",
        user_id: int = 5001,
        context: str = "",
        opener: str = "Здравствуйте! Я ИИ-ассистент Запись+. Удобно пару минут?",
    ) -> int:
        """Start a dialog and deliver the opener, as the Dispatcher would."""
        self.telegram.add_user(username, user_id)
        self.llm.queue(answer(opener, stage="introduction", warmth=0))
        started = await self.conversation.start_dialog(StartDialog(username, context))
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
            account_id = min(self.store.tables.accounts)
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

    # --- looking ---------------------------------------------------------------------------

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

    def cancelled(self, dialog_id: int) -> list[str]:
        return [m.content for m in self.messages(dialog_id) if m.delivery is Delivery.CANCELLED]
