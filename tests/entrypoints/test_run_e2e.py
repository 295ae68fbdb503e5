"""`salesbot run` end to end: a real subprocess, real PostgreSQL, real HTTP everywhere.

The test plays every outside party on 127.0.0.1: the admin through a fake Bot API server
(the real python-telegram-bot polls it), the model through a fake OpenAI-compatible server
(the real httpx adapter calls it), and the prospect through the Telegram stand-in, which
`salesbot run` talks to through the test's entry point (`run_with_standin`: the real
command with the stand-in passed in). Fast timing and zero debounce/delays keep it to
seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from salesbot.adapters.persistence import create_engine, run_migrations
from salesbot.entrypoints.settings import Settings
from tests import secrets
from tests.conftest import pg_admin, pg_url, unique_database_name
from tests.fakes.bot_api_server import FakeBotApi
from tests.fakes.openai_server import FakeOpenAIServer, RecordedRequest, Scripted, completion
from tests.fakes.telegram_standin import TelegramStandin

pytestmark = pytest.mark.timeout(240)

ROOT = Path(__file__).resolve().parents[2]

ADMIN = 111111
PHONE = "+79990000001"
PROSPECT = "prospect_anna"
SETTINGS_NAMES = set(Settings.model_fields)


class Model:
    """Answers every chat completion with the next line, as the JSON salesbot asks for."""

    LINES = (
        "Здравствуйте, Анна! Меня зовут Ольга, я помогаю цветочным магазинам с поставками.",
        "Мы привозим свежие розы из Эквадора дважды в неделю, без посредников.",
        "Минимальный заказ 50 штук, доставка по Москве бесплатная.",
        "Давайте я пришлю прайс, и вы выберете удобный день для пробной поставки?",
        "Спасибо за ответ! Могу созвониться завтра в удобное для вас время.",
    )

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, request: RecordedRequest) -> Scripted:
        line = self.LINES[self.calls % len(self.LINES)]
        self.calls += 1
        answer = {
            "reply": line,
            "stage": "introduction",
            "warmth": 40,
            "outcome": "continue",
            "summary": "",
        }
        return completion(json.dumps(answer, ensure_ascii=False))


class Salesbot:
    """One `salesbot run` subprocess and everything it printed."""

    def __init__(self, env: dict[str, str], cwd: Path, standin_url: str) -> None:
        self.env, self.cwd, self.standin_url = env, cwd, standin_url
        self.lines: list[str] = []
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()

    async def start(self) -> Salesbot:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.entrypoints.run_with_standin", self.standin_url,
            env=self.env, cwd=self.cwd,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        async for raw in self.process.stdout:
            async with self._changed:
                self.lines.append(raw.decode(errors="replace").rstrip())
                self._changed.notify_all()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    async def wait_line(self, fragment: str, timeout: float = 60.0) -> str:
        async def found() -> str:
            async with self._changed:
                while True:
                    for line in self.lines:
                        if fragment in line:
                            return line
                    if self.process is not None and self.process.returncode is not None:
                        raise AssertionError(f"salesbot exited before {fragment!r}:\n{self.output}")
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), 0.2)

        try:
            return await asyncio.wait_for(found(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"no {fragment!r} within {timeout} s:\n{self.output}") from None

    async def exit_code(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        code = await asyncio.wait_for(self.process.wait(), timeout)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 5)
        return code

    async def terminate(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return await self.exit_code()

    async def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        await self.exit_code()

    async def close(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        if self._reader is not None:
            self._reader.cancel()


class World:
    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.tmp_path = tmp_path
        self.database_url = database_url
        self.bot = FakeBotApi(secrets.BOT_TOKEN)
        self.model = Model()
        self.llm = FakeOpenAIServer(default=self.model)
        self.telegram = TelegramStandin()
        self.telegram.add_user(PROSPECT, 5001)
        self.running: list[Salesbot] = []

    def env(self) -> dict[str, str]:
        clean = {k: v for k, v in os.environ.items() if k not in SETTINGS_NAMES}
        return {
            **clean,
            **secrets.env(ADMIN_TELEGRAM_ID=str(ADMIN)),
            "DATABASE_URL": self.database_url,
            "BOT_API_BASE_URL": self.bot.base_url,
            "OPENROUTER_BASE_URL": self.llm.base_url,
            "REPLY_DEBOUNCE_SECONDS": "0",
            "MIN_MESSAGE_DELAY": "0",
            "WARMUP_DAYS": "0",
            "DATA_DIR": str(self.tmp_path / "data"),
            "ADMIN_LANGUAGE": "en",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(ROOT),  # the entry point lives in the tests package
        }

    async def salesbot(self) -> Salesbot:
        process = await Salesbot(self.env(), self.tmp_path, self.telegram.base_url).start()
        self.running.append(process)
        return process

    async def admin_says(self, text: str, *, expect: str = "", timeout: float = 20.0) -> str:
        """The admin writes to the bot; the bot's first reply containing `expect`.
        (Notices about the prospects arrive in the same chat at any time.)"""
        mark = self.bot.mark()
        await self.bot.send_message(ADMIN, text)

        def answered() -> str | None:
            for call in self.bot.since(mark, ("sendMessage",)):
                if call.chat_id == ADMIN and call.ok and expect in (call.text or ""):
                    return call.text
            return None

        return await self.bot.wait_for(answered, timeout)

    async def view(self) -> str:
        """/view 1 (the transcript starts with the opener)."""
        return await self.admin_says("/view 1", expect=Model.LINES[0])


@pytest.fixture
async def fresh_database() -> AsyncIterator[str]:
    name = unique_database_name("e2e")
    await pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield pg_url(name)
    finally:
        await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def world(tmp_path: Path, fresh_database: str) -> AsyncIterator[World]:
    world = World(tmp_path, fresh_database)
    await world.bot.start()
    await world.llm.start()
    await world.telegram.start()
    try:
        yield world
    finally:
        for process in world.running:
            await process.close()
        await world.telegram.stop()
        await world.llm.stop()
        await world.bot.close()


def in_order(text: str, parts: list[str]) -> bool:
    positions = [text.find(part) for part in parts]
    return -1 not in positions and positions == sorted(positions)


async def test_run_refuses_a_database_that_is_not_migrated(world):
    salesbot = await world.salesbot()
    assert await salesbot.exit_code() == 1
    assert "run `salesbot migrate`" in salesbot.output
    assert world.bot.calls == []  # nothing started
    assert secrets.leaks(salesbot.output) == []


async def test_a_whole_conversation_survives_sigterm_restarts_and_kill_9(world):
    await asyncio.to_thread(run_migrations, world.database_url)
    telegram, line = world.telegram, Model.LINES

    # Starts with no account; the admin bot answers at once.
    salesbot = await world.salesbot()
    ready = await salesbot.wait_line("salesbot ready")
    assert "0 account(s) connected, 0 dialog(s) active" in ready

    # The first account logs in through the bot, the code typed with spaces.
    await world.admin_says(f"/add_account {PHONE}")
    await world.admin_says("1 2 3 4 5")
    await telegram.wait_until(lambda: bool(telegram.connected))

    # /start: the opener goes out; the prospect answers; the AI's reply goes out.
    await world.admin_says(f"/start @{PROSPECT} flower shop, 3 outlets")
    await telegram.wait_sent(1)
    await telegram.write(PROSPECT, "Добрый день. А что именно вы предлагаете?")
    await telegram.wait_sent(2)
    assert telegram.sent_to(PROSPECT) == [line[0], line[1]]
    conversation = [line[0], "А что именно вы предлагаете?", line[1]]
    assert in_order(await world.view(), conversation)

    # SIGTERM: a clean exit 0; a restart finds everything where it was.
    assert await salesbot.terminate() == 0
    assert "All components stopped" in salesbot.output
    salesbot = await world.salesbot()
    ready = await salesbot.wait_line("salesbot ready")
    assert "1 account(s) connected, 1 dialog(s) active" in ready
    assert in_order(await world.view(), conversation)
    assert len(telegram.sent) == 2

    # kill -9 after Telegram took a reply but before salesbot heard back.
    telegram.hold_sends = "after"
    await telegram.write(PROSPECT, "Сколько стоит минимальный заказ?")
    await asyncio.wait_for(telegram.send_held.wait(), 20)
    await salesbot.kill()
    telegram.hold_sends, telegram.send_held = None, asyncio.Event()

    # The restart recognises the reply in the chat and does not send it again.
    salesbot = await world.salesbot()
    await salesbot.wait_line("salesbot ready")
    await salesbot.wait_line("was sent before the interruption")
    conversation += ["Сколько стоит минимальный заказ?", line[2]]

    # kill -9 while the next reply is on its way, before Telegram has it.
    telegram.hold_sends = "before"
    await telegram.write(PROSPECT, "Хорошо, присылайте прайс.")
    await asyncio.wait_for(telegram.send_held.wait(), 20)
    await salesbot.kill()
    telegram.hold_sends = None

    # The restart finds it missing from the chat and sends it, once.
    salesbot = await world.salesbot()
    await salesbot.wait_line("was not sent before the interruption")
    await telegram.wait_sent(4)
    conversation += ["Хорошо, присылайте прайс.", line[3]]
    assert telegram.sent_to(PROSPECT) == [line[0], line[1], line[2], line[3]]
    assert in_order(await world.view(), conversation)
    assert await salesbot.terminate() == 0
    assert len(telegram.sent) == 4
    assert world.model.calls == 4  # an opener and three replies, none generated twice
    for process in world.running:
        assert secrets.leaks(process.output) == [], process.output


async def test_what_a_prospect_writes_while_salesbot_is_down_is_answered_once_after_it_starts(
    world,
):
    """The stand-in is Telegram here: a message is pushed once, to the client connected
    then; written while nobody is connected it comes back only through the difference."""
    await asyncio.to_thread(run_migrations, world.database_url)
    telegram, line = world.telegram, Model.LINES
    salesbot = await world.salesbot()
    await salesbot.wait_line("salesbot ready")
    await world.admin_says(f"/add_account {PHONE}")
    await world.admin_says("1 2 3 4 5")
    await telegram.wait_until(lambda: bool(telegram.connected))
    (account_id,) = telegram.connected
    await world.admin_says(f"/start @{PROSPECT} flower shop, 3 outlets")
    await telegram.wait_sent(1)

    # Stopped (an upgrade, a restart): the prospect answers meanwhile.
    assert await salesbot.terminate() == 0
    await telegram.write(PROSPECT, "Добрый день. А что именно вы предлагаете?")
    salesbot = await world.salesbot()
    await salesbot.wait_line("salesbot ready")
    await telegram.wait_sent(2)
    assert telegram.sent_to(PROSPECT) == [line[0], line[1]]

    # kill -9 (a crash, the OOM killer, a power cut): the prospect writes meanwhile.
    await asyncio.sleep(0.5)  # the service keeps where the account's updates stand
    await salesbot.kill()
    await telegram.write(PROSPECT, "Сколько стоит минимальный заказ?")
    salesbot = await world.salesbot()
    await salesbot.wait_line("salesbot ready")
    await telegram.wait_sent(3)
    await asyncio.sleep(1.0)  # room for a second answer, which must not come
    assert await salesbot.terminate() == 0

    assert telegram.sent_to(PROSPECT) == [line[0], line[1], line[2]], "each answered once"
    assert world.model.calls == 3
    calls = telegram.calls[account_id]
    assert calls.count("difference") == 2, "each restart asked what it missed"
    # The catch-up's check of the open chats runs beside the difference's replay: it may
    # read the chat once before the replayed message is stored (nothing is stored twice).
    assert calls.count("history") <= 2, calls
    salesbot = await world.salesbot()
    transcript = await world.view()
    assert in_order(
        transcript,
        [line[0], "А что именно вы предлагаете?", line[1], "Сколько стоит", line[2]],
    )
    assert transcript.count("Сколько стоит минимальный заказ?") == 1, "stored once"
    for process in world.running:
        assert secrets.leaks(process.output) == [], process.output


class SlowModel(Model):
    """While `slow`, every answer takes `delay` seconds: the /start commands are still
    waiting for their openers when the test kills the process."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.slow = True
        self.delay = delay

    def __call__(self, request: RecordedRequest) -> Scripted:
        answer = super().__call__(request)
        return dataclasses.replace(answer, delay=self.delay) if self.slow else answer


async def dialogs_per_prospect(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT target_username, count(*) FROM dialogs GROUP BY target_username")
            )
            return {name: int(n) for name, n in rows}
    finally:
        await engine.dispose()


async def test_admin_commands_queued_at_a_kill_9_are_each_answered_once(world):
    """Issue 13: ten /start at once, the process killed while they wait for the model and
    Telegram was already told they arrived: none lost, none run twice. Issue 16: they wait
    side by side, and a /start a crash cut short is safe to run once more, so none is left
    for the admin to retype either."""
    await asyncio.to_thread(run_migrations, world.database_url)
    leads = [f"lead_user_{i:02d}" for i in range(1, 11)]
    for i, lead in enumerate(leads):
        world.telegram.add_user(lead, 6001 + i)
    model = world.llm.default = SlowModel(delay=20.0)

    salesbot = await world.salesbot()
    await salesbot.wait_line("salesbot ready")
    await world.admin_says(f"/add_account {PHONE}")
    await world.admin_says("1 2 3 4 5")
    await world.telegram.wait_until(lambda: bool(world.telegram.connected))

    bot = world.bot
    mark = bot.mark()
    ids = []
    for lead in leads:
        update = bot.message_update(ADMIN, f"/start @{lead} flower shop")
        ids.append(update["update_id"])
        await bot.deliver(update)

    def confirmed() -> bool:  # the next getUpdates told Telegram all ten arrived
        asked = [c.params.get("offset") for c in bot.since(mark, ["getUpdates"])]
        return str(ids[-1] + 1) in asked

    await bot.wait_for(lambda: confirmed() and model.calls >= 1, timeout=20)
    await salesbot.kill()
    assert not bot.updates  # Telegram has nothing left to give again
    model.slow = False

    salesbot = await world.salesbot()
    await salesbot.wait_line("salesbot ready")
    await world.admin_says("/help", expect="/add_account")  # not held by the ten

    def lead_answers() -> list[str]:
        return [
            c.text or ""
            for c in bot.since(mark, ["sendMessage"])
            if c.chat_id == ADMIN and c.ok and "@lead_user_" in (c.text or "")
        ]

    await bot.wait_for(lambda: sum(" started " in a for a in lead_answers()) >= 10, timeout=30)
    answers = lead_answers()
    for lead in leads:
        started = [a for a in answers if f"@{lead} started" in a]
        assert len(started) == 1, (lead, answers)
    assert [a for a in answers if "interrupted" in a] == []
    per_prospect = await dialogs_per_prospect(world.database_url)
    assert per_prospect == {lead: 1 for lead in leads}, per_prospect
    assert await salesbot.terminate() == 0
    for process in world.running:
        assert secrets.leaks(process.output) == [], process.output
