"""Fault injection: the model down for ten minutes, Telegram delivering an update twice,
FloodWait storms, and database connections killed in the middle of dispatching.

Each test plays the fault against the real use-cases (in-memory fakes, or the SQL unit of
work on PostgreSQL for the database faults) and checks what a user would notice: no
prospect message lost, no reply lost or sent twice, the admin told once.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from salesbot.application.conversation.start_dialog import StartDialog
from salesbot.application.errors import DatabaseUnavailable, LlmUnavailable, RateLimited
from salesbot.application.ports import ChatTurn, Completion, SentMessage
from salesbot.domain.events import LlmFailing, LlmRecovered, ProspectReplied
from salesbot.domain.message import Delivery, Direction
from salesbot.domain.peer import Peer
from tests.application.conversation_support import World as ConversationWorld
from tests.application.conversation_support import answer
from tests.application.telegram_world import World as DispatchWorld
from tests.conftest import database_server
from tests.fakes import FakeClock, FakeTelegram

# --- the language model down for ten minutes --------------------------------------------


class OutageModel:
    """A language model that is unreachable while `down` (after the adapter's retries)."""

    def __init__(self) -> None:
        self.down = False
        self.calls = 0
        self.answered = 0

    async def complete(
        self, turns: Sequence[ChatTurn], *, max_tokens: int | None = None, json_mode: bool = False
    ) -> Completion:
        self.calls += 1
        if self.down:
            raise LlmUnavailable("connect timeout after 3 attempts")
        self.answered += 1
        return Completion(text=answer(f"Ответ номер {self.answered}"), model="fake")


async def test_the_model_down_for_ten_minutes_loses_nothing_and_tells_the_admin_once(
    tmp_path: Path,
):
    model = OutageModel()
    world = ConversationWorld(tmp_path, debounce=5, llm=model)  # type: ignore[arg-type]
    await world.add_account()
    model.down = False
    dialogs = []
    for index in range(3):
        world.telegram.add_user(f"lead{index}", 6000 + index)
        started = await world.conversation.start_dialog(StartDialog(f"lead{index}"))
        dialogs.append(started.dialog_id)
    await world.deliver_pending()

    model.down = True
    for minute in range(10):
        for index in range(len(dialogs)):
            await world.write(f"вопрос {minute} от {index}", user_id=6000 + index)
        await world.clock.advance(60)
        for dialog_id in dialogs:
            assert world.pending(dialog_id) == []  # nothing invented while the model is down
    for index, dialog_id in enumerate(dialogs):
        texts = world.incoming_texts(dialog_id)
        assert texts == [f"вопрос {minute} от {index}" for minute in range(10)]
    assert len(world.notifier.of_type(LlmFailing)) == 1

    model.down = False
    await world.clock.advance(600)  # longer than the longest back-off
    for dialog_id in dialogs:
        assert len(world.pending(dialog_id)) == 1, "exactly one reply to everything written"
    sent = await world.deliver_pending()
    assert len(sent) == 3
    assert len(world.notifier.of_type(LlmFailing)) == 1
    assert len(world.notifier.of_type(LlmRecovered)) == 1
    await world.incoming.aclose()


# --- Telegram delivering the same update again ------------------------------------------


async def test_an_update_delivered_twice_or_concurrently_is_stored_and_answered_once(
    tmp_path: Path,
):
    world = ConversationWorld(tmp_path, debounce=5)
    await world.add_account()
    dialog_id = await world.start()
    world.llm.queue(answer("Отличный вопрос!"))
    first = await world.write("Сколько стоит?", message_id=777)
    await asyncio.gather(*(world.incoming.handle(first) for _ in range(3)))
    await world.incoming.handle(first)
    await world.clock.advance(10)
    await world.incoming.drain()
    assert world.incoming_texts(dialog_id) == ["Сколько стоит?"]
    assert world.pending(dialog_id) == ["Отличный вопрос!"]
    assert len(world.notifier.of_type(ProspectReplied)) == 1
    await world.incoming.aclose()


# --- FloodWait storms ---------------------------------------------------------------------


class StormTelegram(FakeTelegram):
    """Fake Telegram whose sends answer FloodWait for as long as `waits` lasts."""

    def __init__(self, clock: FakeClock, waits: list[float]) -> None:
        super().__init__(clock)
        self.waits = deque(waits)
        self.floods: list[tuple[datetime, float]] = []
        self.attempts: list[datetime] = []

    async def send_message(self, account_id: int, peer: Peer, text: str) -> SentMessage:
        now = self._now()
        self.attempts.append(now)
        if self.waits:
            seconds = self.waits.popleft()
            self.floods.append((now, seconds))
            raise RateLimited(seconds, "send")
        return await super().send_message(account_id, peer, text)


async def test_a_flood_wait_storm_delays_but_never_loses_nor_doubles_a_message():
    rng = random.Random(3)
    clock = FakeClock()
    telegram = StormTelegram(clock, [rng.choice([1, 5, 30, 300, 3600]) for _ in range(25)])
    world = DispatchWorld(clock=clock, telegram=telegram, min_delay=0, max_daily=1000)
    account_id = await world.add_account()
    dialog_id, _ = await world.open_dialog(account_id, "prospect", 700, opener=None)
    texts = [f"message {i}" for i in range(8)]
    for text in texts:
        await world.enqueue(dialog_id, text)
    for _ in range(3000):
        await world.dispatcher.dispatch_once(account_id)
        if len(telegram.sent) == len(texts):
            break
        clock.advance(rng.choice([0.5, 2, 60, 600]))
    assert not telegram.waits, "the storm is over"
    for at, seconds in telegram.floods:
        too_early = [t for t in telegram.attempts if at < t < at + timedelta(seconds=seconds)]
        assert too_early == [], f"sent during a {seconds} s FloodWait from {at}"
    assert sorted(s.text for s in telegram.sent) == texts
    assert set((await world.deliveries()).values()) == {Delivery.SENT}


# --- database connections killed mid-dispatch (PostgreSQL) -------------------------------


class ChaosUow:
    """The SQL unit-of-work factory, with every backend of the database terminated right
    before chosen commits: the commit fails as a dropped connection would make it fail."""

    def __init__(self, real: Callable[[], Any], database: str) -> None:
        self.real = real
        self.database = database
        self.commits = 0
        self.kill_at: set[int] = set()
        self.killed = 0

    def __call__(self) -> Any:
        return _ChaosUnit(self, self.real())

    async def terminate_backends(self) -> None:
        admin = await asyncpg.connect(database_server())
        try:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                self.database,
            )
        finally:
            await admin.close()
        self.killed += 1


class _ChaosUnit:
    def __init__(self, chaos: ChaosUow, inner: Any) -> None:
        self._chaos, self._inner = chaos, inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def __aenter__(self) -> _ChaosUnit:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._inner.__aexit__(*exc)

    async def commit(self) -> None:
        self._chaos.commits += 1
        if self._chaos.commits in self._chaos.kill_at:
            await self._chaos.terminate_backends()
        await self._inner.commit()


async def test_killing_database_connections_mid_dispatch_loses_and_doubles_nothing(
    uow_factory, database_url: str
):
    chaos = ChaosUow(uow_factory, database_url.rsplit("/", 1)[1])
    world = DispatchWorld(min_delay=0, sql_uow=chaos)
    account_id = await world.add_account()
    dialog_id, _ = await world.open_dialog(account_id, "prospect", 800, opener=None)
    texts = [f"message {i}" for i in range(10)]
    for text in texts:
        await world.enqueue(dialog_id, text)
    # Kill every backend before a third of the commits from here on: claims (slot and
    # `sending` rolled back) and records of a sent message (left `sending`).
    rng = random.Random(11)
    chaos.kill_at = {chaos.commits + n for n in range(1, 60) if rng.random() < 0.33}
    failures = 0
    for _ in range(200):
        try:
            handled = await world.dispatcher.dispatch_once(account_id)
        except DatabaseUnavailable:
            failures += 1
            # The process notices the database went away and restarts (as the supervisor
            # would): a new dispatcher first settles what was left `sending`.
            world = await world.restart()
            assert await world.pool.start(account_id)
            await _settle_with_retries(world)
            continue
        world.clock.advance(1)
        if not handled and len(world.tg.sent) >= len(texts):
            break
    chaos.kill_at = set()
    world = await world.restart()
    assert await world.pool.start(account_id)
    await world.dispatcher.reconcile_interrupted()
    await world.drain(account_id)
    assert chaos.killed > 0 and failures > 0
    assert sorted(s.text for s in world.tg.sent) == sorted(texts), "each sent exactly once"
    async with uow_factory() as uow:
        outgoing = [
            m for m in await uow.messages.list_for_dialog(dialog_id) if m.direction is Direction.OUT
        ]
    assert {m.content: m.delivery for m in outgoing} == dict.fromkeys(texts, Delivery.SENT)
    assert len({m.telegram_message_id for m in outgoing}) == len(texts)


async def _settle_with_retries(world: DispatchWorld) -> None:
    for _ in range(5):
        try:
            await world.dispatcher.reconcile_interrupted()
            return
        except DatabaseUnavailable:
            world.clock.advance(1)



async def test_a_flood_wait_storm_keeps_each_dialogs_messages_in_the_order_they_were_queued():
    rng = random.Random(8)
    clock = FakeClock()
    telegram = StormTelegram(clock, [rng.choice([1, 5, 30, 300]) for _ in range(20)])
    world = DispatchWorld(clock=clock, telegram=telegram, min_delay=0, max_daily=1000)
    account_id = await world.add_account()
    users = {700 + n: (await world.open_dialog(account_id, f"p{n}", 700 + n, opener=None))[0]
             for n in range(3)}  # fmt: skip
    queued: dict[int, list[str]] = {user: [] for user in users}
    for index in range(12):
        user = rng.choice(list(users))
        queued[user].append(f"message {index}")
        await world.enqueue(users[user], f"message {index}")
    for _ in range(3000):
        await world.dispatcher.dispatch_once(account_id)
        if len(telegram.sent) == 12:
            break
        clock.advance(rng.choice([0.5, 2, 60, 600]))
    assert not telegram.waits, "the storm is over"
    for user, texts in queued.items():
        assert telegram.sent_to(user) == texts
