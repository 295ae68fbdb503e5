"""The admin bot under test: the real python-telegram-bot Application polling a fake Bot API
server on 127.0.0.1, its commands wired to the real use-cases on in-memory fakes.

`admin.send("/list")` writes as the admin and returns the texts the bot answered; the fake
server tells when the answers arrived, so nothing waits a fixed time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from salesbot.adapters.admin_bot import (
    AdminUseCases,
    BotNotifier,
    build_admin_bot,
    build_bot,
    build_notifier,
)
from salesbot.adapters.admin_bot.bot import AdminBot, Alongside
from salesbot.application.accounts.manage_accounts import AccountService
from salesbot.application.admin.control_dialog import DialogControl
from salesbot.application.admin.export_dialogs import Exports
from salesbot.application.admin.views import AdminViews
from salesbot.application.conversation.engine import ConversationConfig, build_conversation
from salesbot.domain.quota import SendQuota
from tests.application.admin_seed import Seed
from tests.fakes import (
    FakeClock,
    FakeLanguageModel,
    FakeNotifier,
    FakeTelegram,
    FakeUnitOfWork,
    InMemoryStore,
)
from tests.fakes.bot_api_server import ApiCall, FakeBotApi
from tests.secrets import BOT_TOKEN

ADMIN = 111111
SECOND_ADMIN = 222222
STRANGER = 999999
MOSCOW = ZoneInfo("Europe/Moscow")
SCRIPT = "Sales script: sell Zapis+, a booking service for beauty salons. Goal: a demo call."


def model_answer(reply: str, *, stage: str = "introduction", warmth: int = 5) -> str:
    """The model's JSON answer, as the conversation engine asks for it."""
    return json.dumps(
        {"reply": reply, "stage": stage, "warmth": warmth, "outcome": "continue", "summary": ""},
        ensure_ascii=False,
    )


SENTINEL = "/zz_sentinel"
REPLIES = ("sendMessage", "sendDocument")


class Chat:
    """One Telegram user talking to the bot through the fake server.

    The bot handles one update after the other, so after each message the chat sends an
    unknown command as a sentinel: everything the bot answered before the sentinel's answer
    is the whole answer to the message, however many pieces it took. Exports run beside
    the next updates: their answers are complete once the bot's `alongside` is idle."""

    def __init__(
        self, api: FakeBotApi, user_id: int, alongside: Alongside | None = None
    ) -> None:
        self.api = api
        self.user_id = user_id
        self.alongside = alongside

    async def settle(self, mark: int) -> list[ApiCall]:
        """Every answer (message or document) to this chat since `mark`."""
        await self.api.send_message(self.user_id, SENTINEL)

        def answers() -> list[ApiCall]:
            return [c for c in self.api.since(mark, REPLIES) if c.chat_id == self.user_id and c.ok]

        def answered() -> tuple[list[ApiCall]] | None:
            calls = answers()
            done = [i for i, c in enumerate(calls) if SENTINEL in (c.text or "")]
            return (calls[: done[0]],) if done else None

        try:
            (before_sentinel,) = await self.api.wait_for(answered)
        except asyncio.TimeoutError:
            return []  # the sentinel is answered only for admins
        if self.alongside is None:
            return before_sentinel
        await asyncio.wait_for(self.alongside.wait(), 5.0)
        return [c for c in answers() if SENTINEL not in (c.text or "")]

    async def calls(self, text: str) -> list[ApiCall]:
        mark = self.api.mark()
        await self.api.send_message(self.user_id, text)
        return await self.settle(mark)

    async def send(self, text: str) -> list[str]:
        """Write `text`; the texts of every answer, in order."""
        return [c.text or "" for c in await self.calls(text)]

    async def reply(self, text: str) -> str:
        """Write `text`; the one answer it got."""
        answers = await self.send(text)
        assert len(answers) == 1, answers
        return answers[0]


@dataclass
class World:
    api: FakeBotApi
    tmp_path: Path
    language: str = "ru"
    export_part_limit: int | None = None
    notifier_clock: Any = None
    """With a clock, the bot gets a BotNotifier (`world.bot_notifier`) on that clock."""
    clock: FakeClock = field(default_factory=FakeClock)
    store: InMemoryStore = field(default_factory=InMemoryStore)
    llm: FakeLanguageModel = field(default_factory=FakeLanguageModel)
    notifier: FakeNotifier = field(default_factory=FakeNotifier)

    def __post_init__(self) -> None:
        self.telegram = FakeTelegram(self.clock)
        self.seed = Seed(self.store, self.clock)
        script_file = self.tmp_path / "script.md"
        script_file.write_text(SCRIPT, encoding="utf-8")
        quota = SendQuota(max_daily=20, min_delay=timedelta(seconds=30), tz=timezone.utc)
        conversation = build_conversation(
            uow_factory=self.uow,
            connections=self.telegram,
            messenger=self.telegram,
            llm=self.llm,
            notifier=self.notifier,
            clock=self.clock,
            config=ConversationConfig(prompt_file=script_file, quota=quota),
        )
        self.conversation = conversation
        self.use_cases = AdminUseCases(
            accounts=AccountService(self.uow, self.telegram, self.clock, quota),
            start_dialog=conversation.start_dialog,
            control=DialogControl(self.uow, self.clock, replies=conversation.incoming),
            views=AdminViews(self.uow, self.clock, MOSCOW, page_size=3),
            exports=Exports(self.uow, batch_size=2),
            script=conversation.script,
        )
        extra: dict[str, Any] = {}
        if self.export_part_limit is not None:
            extra["export_part_limit"] = self.export_part_limit
        api_client = build_bot(BOT_TOKEN, self.api.base_url)
        self.bot_notifier: BotNotifier | None = None
        if self.notifier_clock is not None:
            self.bot_notifier = build_notifier(
                api_client, admin_ids=(ADMIN, SECOND_ADMIN), clock=self.notifier_clock, tz=MOSCOW
            )
            extra["notifier"] = self.bot_notifier
        self.bot: AdminBot = build_admin_bot(
            api_client,
            admin_ids=(ADMIN, SECOND_ADMIN),
            use_cases=self.use_cases,
            clock=self.clock,
            tz=MOSCOW,
            language=self.language,  # type: ignore[arg-type]
            poll_timeout=5,
            **extra,
        )
        self.admin = Chat(self.api, ADMIN, self.bot.alongside)
        self.stranger = Chat(self.api, STRANGER, self.bot.alongside)

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.store)

    async def connected_account(self, phone: str = "+79001234567") -> int:
        """An active account whose client is connected, as the pool would leave it."""
        account_id = await self.seed.account(phone)
        async with self.uow() as uow:
            account = await uow.accounts.get(account_id)
        assert account is not None
        await self.telegram.connect(account, [])
        return account_id


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi(BOT_TOKEN)
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def make_world(api: FakeBotApi, tmp_path: Path) -> AsyncIterator[Any]:
    """`await make_world(language="en")`: a started bot; stopped after the test."""
    started: list[World] = []

    async def make(**options: Any) -> World:
        world = World(api, tmp_path, **options)
        await world.bot.start()
        started.append(world)
        return world

    yield make
    for world in started:
        await world.bot.stop()
        await world.conversation.incoming.aclose()


@pytest.fixture
async def world(make_world: Any) -> World:
    return await make_world()
