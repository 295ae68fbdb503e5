"""The admin bot under test: the real python-telegram-bot Application polling a fake Bot API
server on 127.0.0.1, built by the service's container with its use-cases on PostgreSQL (the
admin's reads are SQL) and fakes of Telegram and the model.

`admin.send("/list")` writes as the admin and returns the texts the bot answered; the fake
server tells when the answers arrived, so nothing waits a fixed time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dependency_injector import providers
from sqlalchemy import Table, update
from sqlalchemy.ext.asyncio import AsyncEngine

from salesbot.adapters.admin_bot import BotNotifier, build_notifier
from salesbot.adapters.admin_bot.bot import AdminBot, Alongside
from salesbot.application.ports import UnitOfWork
from salesbot.domain.account import Account
from salesbot.domain.dialog import Dialog
from salesbot.domain.message import Message
from tests.application.admin_seed import Seed
from tests.application.telegram_world import FakeLocks
from tests.contracts.seeding import every_dialog, every_message
from tests.fakes import FakeClock, FakeLanguageModel, FakeNotifier, FakeTelegram
from tests.fakes.bot_api_server import ApiCall, FakeBotApi
from tests.secrets import BOT_TOKEN
from tests.wiring import container_for, settings_for_tests

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
REPLIES = ("sendMessage", "sendDocument", "sendPhoto")


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
        """Every answer (message, document or photo) to this chat since `mark`."""
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
    engine: AsyncEngine
    """The admin's reads are SQL: the bot works on PostgreSQL."""
    language: str = "ru"
    review_mode: str = "off"
    export_part_limit: int | None = None
    export_pace: Any = None
    """A ProgressPace for /export_all's status message (the bot's own if None)."""
    stop_grace: float | None = None
    """Seconds a stop waits for commands still running (the bot's own default if None)."""
    notifier_clock: Any = None
    """With a clock, the notices go through the real BotNotifier (`world.bot_notifier`) on
    that clock, as in production; without, into `world.notifier` (a FakeNotifier)."""
    clock: FakeClock = field(default_factory=FakeClock)
    llm: FakeLanguageModel = field(default_factory=FakeLanguageModel)
    notifier: FakeNotifier = field(default_factory=FakeNotifier)

    def __post_init__(self) -> None:
        self.telegram = FakeTelegram(self.clock)
        script_file = self.tmp_path / "script.md"
        script_file.write_text(SCRIPT, encoding="utf-8")
        settings = settings_for_tests(
            SALES_PROMPT_FILE=script_file,
            MAX_DAILY_MESSAGES=20,
            MIN_MESSAGE_DELAY=30,
            WARMUP_DAYS=0,
            TIMEZONE="Europe/Moscow",
            ADMIN_TELEGRAM_ID=f"{ADMIN},{SECOND_ADMIN}",
            ADMIN_LANGUAGE=self.language,
            BOT_TOKEN=BOT_TOKEN,
            BOT_API_BASE_URL=self.api.base_url,
            REVIEW_MODE=self.review_mode,
        )
        container = self.container = container_for(
            settings,
            engine=self.engine,
            telegram=self.telegram,
            llm=self.llm,
            notifier=None if self.notifier_clock is not None else self.notifier,
            clock=self.clock,
            locks=FakeLocks(),
        )
        self.bot_notifier: BotNotifier | None = None
        if self.notifier_clock is not None:
            self.bot_notifier = build_notifier(
                container.bot(),
                admin_ids=(ADMIN, SECOND_ADMIN),
                clock=self.notifier_clock,
                tz=MOSCOW,
                language=self.language,
            )
            container.notifier.override(providers.Object(self.bot_notifier))
        # Small pages and batches, so that a few rows cross their boundaries.
        container.admin_views.add_kwargs(page_size=3)
        container.do_not_contact.add_kwargs(page_size=3)
        container.campaign_reports.add_kwargs(page_size=3)
        container.exports.add_kwargs(batch_size=2)
        container.admin_bot.add_kwargs(poll_timeout=5)
        if self.stop_grace is not None:
            container.admin_bot.add_kwargs(stop_grace=self.stop_grace)
        if self.export_part_limit is not None:
            container.admin_bot.add_kwargs(export_part_limit=self.export_part_limit)
        if self.export_pace is not None:
            container.admin_bot.add_kwargs(export_pace=self.export_pace)
        self.incoming = container.incoming()
        self.use_cases = container.admin_use_cases()
        bot = container.admin_bot()
        assert bot is not None
        self.bot: AdminBot = bot
        self.seed = Seed(self.uow, self.clock)
        self.admin = Chat(self.api, ADMIN, self.bot.alongside)
        self.stranger = Chat(self.api, STRANGER, self.bot.alongside)

    def uow(self) -> UnitOfWork:
        return self.container.uow_factory()()

    async def connected_account(self, phone: str = "+79001234567") -> int:
        """An active account whose client is connected, as the pool would leave it."""
        account_id = await self.seed.account(phone)
        await self.telegram.connect(await self.account(account_id), [])
        return account_id

    # --- reading what the bot did ----------------------------------------------------------

    async def account(self, account_id: int) -> Account:
        async with self.uow() as uow:
            found = await uow.accounts.get(account_id)
        assert found is not None
        return found

    async def accounts(self) -> list[Account]:
        async with self.uow() as uow:
            return await uow.accounts.every()

    async def dialog(self, dialog_id: int) -> Dialog:
        async with self.uow() as uow:
            found = await uow.dialogs.get(dialog_id)
        assert found is not None
        return found

    async def dialogs(self) -> list[Dialog]:
        return await every_dialog(self.engine)

    async def messages(self) -> list[Message]:
        return await every_message(self.engine)

    async def poke(self, table: Table, row_id: int, **values: Any) -> None:
        """Set columns of one row in plain SQL: a state the flows would reach slowly (a
        quota half spent, an account banned by Telegram), for the bot to show."""
        async with self.engine.begin() as connection:
            await connection.execute(update(table).where(table.c.id == row_id).values(**values))


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi(BOT_TOKEN)
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def make_world(api: FakeBotApi, tmp_path: Path, engine: AsyncEngine) -> AsyncIterator[Any]:
    """`await make_world(language="en")`: a started bot; stopped after the test."""
    started: list[World] = []

    async def make(**options: Any) -> World:
        world = World(api, tmp_path, engine, **options)
        await world.bot.start()
        started.append(world)
        return world

    yield make
    for world in started:
        await world.bot.stop()
        await world.incoming.aclose()


@pytest.fixture
async def world(make_world: Any) -> World:
    return await make_world()
