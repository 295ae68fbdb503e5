"""A small world for the account-pool and dispatcher tests: fakes of every port, wired the
way the entrypoints wire the real adapters, and a restart that keeps only what survives
one (the database and Telegram)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from salesbot.adapters.persistence import FernetSessionCipher, sql_uow_factory
from salesbot.application.accounts.run_accounts import AccountPool
from salesbot.application.outbox.dispatch import NO_TYPING, Dispatcher, TypingPace
from salesbot.application.ports import Census
from salesbot.domain.account import Account, AccountStatus
from salesbot.domain.dialog import Dialog
from salesbot.domain.message import Delivery, Message, OutKind
from salesbot.domain.quota import SendQuota
from salesbot.domain.working_hours import ALWAYS, WorkingHours
from salesbot.entrypoints.timing import Timing
from tests.fakes import (
    FakeClock,
    FakeLanguageModel,
    FakeNotifier,
    FakeTelegram,
    FakeUnitOfWork,
    InMemoryStore,
)
from tests.secrets import (
    SECOND_SESSION_STRING,
    SESSION_SECRET,
    SESSION_STRING,
    SHORT_SESSION_STRING,
)
from tests.wiring import container_for, settings_for_tests

SESSIONS = [SESSION_STRING, SECOND_SESSION_STRING, SHORT_SESSION_STRING]
START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


class LockRegistry(dict[int, "FakeLocks"]):
    """The database's side of the fake locks: which FakeLocks holds each account, and the
    live processes (FakeLocks not closed), as pg_locks shows them."""

    def __init__(self) -> None:
        super().__init__()
        self.processes: list[FakeLocks] = []


class FakeLocks:
    """AccountLocks as PostgreSQL's advisory locks behave: one owner per account among
    every FakeLocks sharing `registry` (one per process); the owner may take it again.

    `cut_off()` plays this process losing its database connection: every call hangs until
    `reconnect()`, and (`drop=True`, the server ended its session) its locks and its
    presence go at once, free for the others."""

    def __init__(self, registry: dict[int, FakeLocks] | None = None) -> None:
        self.registry: dict[int, FakeLocks] = LockRegistry() if registry is None else registry
        self._answering = asyncio.Event()
        self._answering.set()
        self.closed = False
        self._present()

    def _present(self) -> None:
        processes = getattr(self.registry, "processes", None)
        if processes is not None and self not in processes:
            processes.append(self)

    async def _answer(self) -> None:
        await self._answering.wait()

    async def try_acquire(self, account_id: int) -> bool:
        await self._answer()
        holder = self.registry.setdefault(account_id, self)
        return holder is self

    async def still_held(self, account_ids: Collection[int]) -> set[int]:
        await self._answer()
        return {a for a in account_ids if self.registry.get(a) is self}

    async def release(self, account_id: int) -> None:
        await self._answer()
        if self.registry.get(account_id) is self:
            del self.registry[account_id]

    async def census(self) -> Census:
        await self._answer()
        processes = getattr(self.registry, "processes", [self])
        return Census(processes=len(processes), held=frozenset(self.registry))

    def held(self) -> set[int]:
        return {a for a, holder in self.registry.items() if holder is self}

    def cut_off(self, *, drop: bool = True) -> None:
        self._answering.clear()
        if drop:
            self._vanish()

    def reconnect(self) -> None:
        self._present()
        self._answering.set()

    async def close(self) -> None:
        """The process ends (or dies): its locks and its presence vanish."""
        self.closed = True
        self._vanish()

    def _vanish(self) -> None:
        for account_id in self.held():
            del self.registry[account_id]
        processes = getattr(self.registry, "processes", None)
        if processes is not None and self in processes:
            processes.remove(self)


class CountingUow:
    """The unit-of-work factory (in memory, or a real one), counting those opened."""

    def __init__(self, store: InMemoryStore, real: Callable[[], Any] | None = None) -> None:
        self.store = store
        self.real = real
        self.opened = 0

    def __call__(self) -> Any:
        self.opened += 1
        return self.real() if self.real is not None else FakeUnitOfWork(self.store)


@dataclass
class World:
    clock: FakeClock = field(default_factory=lambda: FakeClock(START))
    store: InMemoryStore = field(default_factory=InMemoryStore)
    telegram: FakeTelegram | None = None
    notifier: FakeNotifier = field(default_factory=FakeNotifier)
    max_daily: int = 20
    min_delay: float = 30
    warmup_days: int = 0
    tz: Any = timezone.utc
    working_hours: WorkingHours = ALWAYS
    typing: TypingPace = NO_TYPING
    cooldown: timedelta = timedelta(hours=24)
    locks: Any = field(default_factory=FakeLocks)
    llm: FakeLanguageModel = field(default_factory=FakeLanguageModel)
    """The model the conversation answers with (what the pool's catch-up hands messages to)."""
    sql_uow: Callable[[], Any] | None = None
    """A real unit-of-work factory (SQL) to use instead of the in-memory store."""
    engine: AsyncEngine | None = None
    """PostgreSQL for the unit of work and the queries (the `engine` fixture's)."""
    transcriber: Any = None
    """A transcription endpoint for voice notes (none: they keep their description)."""
    calls: Any = None
    """The account calls' queue (none: one of this world's own, in memory)."""
    takeover_wait: float = 0.0
    """The pool's wait between taking a lock and connecting: none here, so that starting
    an account does not move the fake clock; tests/application/accounts/test_fencing.py
    runs the production one."""

    def __post_init__(self) -> None:
        if self.telegram is None:
            self.telegram = FakeTelegram(self.clock)
        real = self.sql_uow
        if real is None and self.engine is not None:
            real = sql_uow_factory(self.engine, FernetSessionCipher(SESSION_SECRET))
        self.uow = CountingUow(self.store, real)
        self.settings = settings_for_tests(
            MAX_DAILY_MESSAGES=self.max_daily,
            MIN_MESSAGE_DELAY=int(self.min_delay),
            TIMEZONE=getattr(self.tz, "key", "UTC"),
            WARMUP_DAYS=self.warmup_days,
            WORKING_HOURS=self.working_hours,
            WORKING_DAYS=self.working_hours.days,
            LIMITED_COOLDOWN_HOURS=self.cooldown.total_seconds() / 3600,
        )
        self.container = container_for(
            self.settings,
            engine=self.engine,
            uow=self.uow,
            telegram=self.telegram,
            notifier=self.notifier,
            clock=self.clock,
            locks=self.locks,
            llm=self.llm,
            timing=Timing(
                typing=self.typing,
                send_gap_jitter=0.0,
                connect_timeout=1.0,
                takeover_wait=self.takeover_wait,
            ),
            transcriber=self.transcriber,
            calls=self.calls,
        )
        self.quota: SendQuota = self.container.quota()
        self.pool: AccountPool = self.container.pool()
        self.dispatcher: Dispatcher = self.container.dispatcher()
        # As `salesbot run` opens it: Telegram's messages go to the intake.
        self.container.incoming_subscription()

    @property
    def tg(self) -> FakeTelegram:
        assert self.telegram is not None
        return self.telegram

    async def restart(self, **changes: Any) -> World:
        """The process dies: connections and locks go, the database and Telegram stay."""
        await self.tg.process_died()
        settings = {
            "clock": self.clock,
            "store": self.store,
            "telegram": self.telegram,
            "notifier": self.notifier,
            "max_daily": self.max_daily,
            "min_delay": self.min_delay,
            "warmup_days": self.warmup_days,
            "tz": self.tz,
            "working_hours": self.working_hours,
            "typing": self.typing,
            "cooldown": self.cooldown,
            "sql_uow": self.sql_uow,
            "engine": self.engine,
            "llm": self.llm,
        }
        return World(**{**settings, **changes})

    # --- building the database -----------------------------------------------------------

    async def add_account(
        self,
        phone: str = "+79000000001",
        *,
        session: str | None = None,
        status: AccountStatus = AccountStatus.ACTIVE,
        created_at: datetime | None = None,
        limited_until: datetime | None = None,
    ) -> int:
        async with self.uow() as uow:
            count = len(await uow.accounts.every())
            account = await uow.accounts.add(
                Account(
                    phone=phone,
                    session_string=session or f"{SESSIONS[count % len(SESSIONS)]}-{count}",
                    status=status,
                    created_at=created_at or self.clock.now() - timedelta(days=365),
                    limited_until=limited_until,
                )
            )
            await uow.commit()
        assert account.id is not None
        return account.id

    async def open_dialog(
        self,
        account_id: int,
        username: str,
        user_id: int,
        *,
        opener: str | None = "Hello! A quick question about your shop.",
        resolve: bool = True,
    ) -> tuple[int, int | None]:
        """What start_dialog does: resolve once through the account, store the peer, the
        dialog and the pending opener."""
        self.tg.add_user(username, user_id)
        peer = None
        if resolve:
            if account_id not in self.pool.owned():
                assert await self.pool.start(account_id)
            peer = await self.tg.resolve_username(account_id, username)
        async with self.uow() as uow:
            if peer is not None:
                await uow.peers.put(peer)
            dialog = await uow.dialogs.add(
                Dialog(
                    account_id=account_id,
                    target_username=username,
                    target_user_id=user_id,
                    created_at=self.clock.now(),
                )
            )
            assert dialog.id is not None
            message_id = None
            if opener is not None:
                message = await uow.messages.add(
                    Message.outgoing(
                        dialog.id, account_id, opener, self.clock.now(), OutKind.OPENER
                    )
                )
                message_id = message.id
            await uow.commit()
        return dialog.id, message_id

    async def enqueue(
        self,
        dialog_id: int,
        text: str,
        kind: OutKind = OutKind.REPLY,
        *,
        send_after: datetime | None = None,
    ) -> int:
        async with self.uow() as uow:
            dialog = await uow.dialogs.get(dialog_id)
            assert dialog is not None
            message = await uow.messages.add(
                Message.outgoing(
                    dialog_id, dialog.account_id, text, self.clock.now(), kind, send_after
                )
            )
            await uow.commit()
        assert message.id is not None
        return message.id

    async def receive(self, dialog_id: int, text: str) -> None:
        """The prospect wrote: stored as incoming (what IncomingMessages does)."""
        async with self.uow() as uow:
            dialog = await uow.dialogs.get(dialog_id)
            assert dialog is not None and dialog.target_user_id is not None
            message = Message.incoming(
                dialog_id, dialog.account_id, text, self.clock.now(), 10_000 + dialog_id
            )
            await uow.messages.add_incoming(message)
            await uow.commit()

    # --- reading it back -----------------------------------------------------------------

    async def message(self, message_id: int) -> Message:
        async with self.uow() as uow:
            found = await uow.messages.get(message_id)
        assert found is not None
        return found

    async def dialog(self, dialog_id: int) -> Dialog:
        async with self.uow() as uow:
            found = await uow.dialogs.get(dialog_id)
        assert found is not None
        return found

    async def account(self, account_id: int) -> Account:
        async with self.uow() as uow:
            found = await uow.accounts.get(account_id)
        assert found is not None
        return found

    async def deliveries(self) -> dict[int, Delivery | None]:
        async with self.uow() as uow:
            return {m.id: m.delivery for m in await uow.messages.list_by_delivery(Delivery.SENT)}

    async def sent_messages(self) -> list[Message]:
        async with self.uow() as uow:
            return await uow.messages.list_by_delivery(Delivery.SENT)

    # --- running -------------------------------------------------------------------------

    async def drain(self, account_id: int, *, limit: int = 100) -> int:
        """dispatch_once until it finds nothing to do now; how many it handled."""
        handled = 0
        while handled < limit and await self.dispatcher.dispatch_once(account_id):
            handled += 1
        return handled

    async def run_until(
        self, done: Callable[[], bool], *, fake_seconds: float, steps: int = 200_000
    ) -> None:
        """Run the dispatcher's loop until `done()` or the fake clock passed `fake_seconds`."""
        deadline = self.clock.now() + timedelta(seconds=fake_seconds)
        task = asyncio.ensure_future(self.dispatcher.run_forever())
        try:
            for _ in range(steps):
                if done() or self.clock.now() >= deadline or task.done():
                    break
                await asyncio.sleep(0)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if task.done() and not task.cancelled() and task.exception():
            raise task.exception()  # type: ignore[misc]


class SessionLedger:
    """What Telegram would see of several processes' clients: for each account, the
    processes whose client is connected now, and every moment one was live in two."""

    def __init__(self) -> None:
        self.live: dict[int, set[str]] = {}
        self.connects: list[tuple[str, int]] = []
        self.overlaps: list[tuple[int, frozenset[str]]] = []

    def connected(self, process: str, account_id: int) -> None:
        self.connects.append((process, account_id))
        holders = self.live.setdefault(account_id, set())
        holders.add(process)
        if len(holders) > 1:
            self.overlaps.append((account_id, frozenset(holders)))

    def disconnected(self, process: str, account_id: int) -> None:
        self.live.get(account_id, set()).discard(process)

    def running(self, process: str) -> set[int]:
        return {a for a, holders in self.live.items() if process in holders}


class RecordingTelegram(FakeTelegram):
    """One process's FakeTelegram whose connects and disconnects go to a shared ledger."""

    def __init__(self, clock: Any, ledger: SessionLedger, process: str) -> None:
        super().__init__(clock)
        self.ledger, self.process = ledger, process

    async def connect(self, account: Account, peers: Any, state: Any = None) -> None:
        await super().connect(account, peers, state)
        assert account.id is not None
        self.ledger.connected(self.process, account.id)

    async def disconnect(self, account_id: int) -> None:
        await super().disconnect(account_id)
        self.ledger.disconnected(self.process, account_id)
