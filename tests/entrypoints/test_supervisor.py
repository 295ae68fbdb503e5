"""The supervisor keeps components alive, restarts crashes with back-off and stops in order."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import pytest

from salesbot.application.errors import TelegramUnavailable
from salesbot.entrypoints.supervisor import (
    Backoff,
    Component,
    Resident,
    Supervisor,
    Unrecoverable,
)
from tests.fakes import FakeClock


class Steady:
    """A component that works until asked to stop, like the dispatcher loop."""

    def __init__(self, name: str, journal: list[str], *, finish_work: float = 0.0) -> None:
        self.name = name
        self.journal = journal
        self.finish_work = finish_work
        self.stop_requested = asyncio.Event()
        self.component = Component(name, self.run, self.stop, announces_ready=True)

    async def run(self) -> None:
        self.journal.append(f"{self.name} started")
        self.component.ready.set()
        await self.stop_requested.wait()
        if self.finish_work:
            await asyncio.sleep(self.finish_work)  # an in-flight send completing
            self.journal.append(f"{self.name} finished its send")
        self.journal.append(f"{self.name} stopped")

    async def stop(self) -> None:
        self.stop_requested.set()


async def test_a_crashing_component_is_restarted_with_growing_pauses_and_others_keep_running():
    clock = FakeClock()
    supervisor = Supervisor(clock, backoff=Backoff(initial=1, factor=2, maximum=5))
    journal: list[str] = []
    steady = Steady("admin bot", journal)
    runs = 0

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs == 6:
            supervisor.request_stop("test over")
        raise RuntimeError("network down")

    supervisor.add(steady.component)
    supervisor.add(Component("dispatcher", flaky))

    assert await supervisor.run() == 0
    assert runs == 6
    assert clock.slept == [1, 2, 4, 5, 5]
    assert supervisor.restarts["dispatcher"] == 6
    assert journal == ["admin bot started", "admin bot stopped"]


async def test_the_pauses_start_small_again_after_a_healthy_run():
    clock = FakeClock()
    supervisor = Supervisor(clock, backoff=Backoff(initial=1, factor=2), healthy_after=60)
    runs = 0

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs == 4:
            clock.advance(120)  # this time it worked for two minutes before failing
        if runs == 5:
            supervisor.request_stop("test over")
        raise RuntimeError("boom")

    supervisor.add(Component("account pool", flaky))
    await supervisor.run()

    assert clock.slept == [1, 2, 4, 1]


async def test_an_unrecoverable_error_stops_everything_in_reverse_order_and_exits_non_zero():
    supervisor = Supervisor(FakeClock())
    journal: list[str] = []
    pool, bot = Steady("account pool", journal), Steady("admin bot", journal)

    async def database_gone() -> None:
        await pool.component.ready.wait()
        await bot.component.ready.wait()
        raise Unrecoverable("the database has not answered for 300 s")

    supervisor.add(pool.component)
    supervisor.add(Component("database watch", database_gone))
    supervisor.add(bot.component)

    assert await supervisor.run() == 1
    assert journal[2:] == ["admin bot stopped", "account pool stopped"]


async def test_a_stop_lets_the_in_flight_send_finish_before_the_clients_disconnect():
    supervisor = Supervisor(FakeClock())
    journal: list[str] = []
    pool = Steady("account pool", journal)
    dispatcher = Steady("dispatcher", journal, finish_work=0.01)
    bot = Steady("admin bot", journal)
    for steady in (pool, dispatcher, bot):
        supervisor.add(steady.component)

    running = asyncio.create_task(supervisor.run())
    assert await supervisor.wait_ready(timeout=1) == []
    supervisor.request_stop("SIGTERM")

    assert await running == 0
    assert journal[3:] == [
        "admin bot stopped",
        "dispatcher finished its send",
        "dispatcher stopped",
        "account pool stopped",
    ]


async def test_a_component_that_ignores_the_stop_is_cancelled_after_its_grace():
    supervisor = Supervisor(FakeClock(), shutdown_timeout=1)
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def stubborn() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    supervisor.add(Component("stubborn", stubborn, grace=0.02))
    running = asyncio.create_task(supervisor.run())
    await started.wait()
    supervisor.request_stop()

    assert await asyncio.wait_for(running, timeout=2) == 0
    assert cancelled.is_set()


async def test_a_component_without_stop_is_cancelled_at_once_and_cleans_up():
    supervisor = Supervisor(FakeClock())
    journal: list[str] = []

    async def pool() -> None:
        journal.append("connected")
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0.001)
            journal.append("disconnected")

    supervisor.add(Component("account pool", pool, grace=5))
    running = asyncio.create_task(supervisor.run())
    while not journal:
        await asyncio.sleep(0)
    started = asyncio.get_running_loop().time()
    supervisor.request_stop()

    assert await running == 0
    assert journal == ["connected", "disconnected"]
    assert asyncio.get_running_loop().time() - started < 1


async def test_a_one_shot_job_runs_once_and_is_retried_only_when_it_fails():
    clock = FakeClock()
    supervisor = Supervisor(clock)
    attempts: list[str] = []

    async def reconcile() -> None:
        attempts.append("reconcile")
        if len(attempts) == 1:
            raise ConnectionError("database restarting")

    job = supervisor.add(Component("reconcile interrupted sends", reconcile, once=True))
    running = asyncio.create_task(supervisor.run())
    assert await supervisor.wait_ready(timeout=1) == []
    for _ in range(5):
        await asyncio.sleep(0)
    supervisor.request_stop()
    await running

    assert attempts == ["reconcile", "reconcile"]
    assert job.ready.is_set()
    assert clock.slept == [1]


async def test_a_resident_retries_a_failed_start_and_always_stops_what_it_started():
    clock = FakeClock()
    supervisor = Supervisor(clock)
    journal: list[str] = []

    async def start() -> None:
        journal.append("start")
        if journal.count("start") == 1:
            raise OSError("Bot API unreachable")

    async def stop() -> None:
        journal.append("stop")

    bot = Resident("admin bot", start, stop)
    supervisor.add(bot.component)
    running = asyncio.create_task(supervisor.run())
    assert await supervisor.wait_ready(timeout=1) == []
    supervisor.request_stop()
    assert await running == 0

    assert journal == ["start", "stop", "start", "stop"]
    assert clock.slept == [1]


async def test_wait_ready_names_what_did_not_start_in_time():
    supervisor = Supervisor(FakeClock())
    journal: list[str] = []

    async def never_ready() -> None:
        await asyncio.Event().wait()

    supervisor.add(Steady("admin bot", journal).component)
    supervisor.add(Component("account pool", never_ready, grace=0.01, announces_ready=True))
    running = asyncio.create_task(supervisor.run())

    assert await supervisor.wait_ready(timeout=0.02) == ["account pool"]
    supervisor.request_stop()
    await running


async def test_sigterm_stops_gracefully_and_a_second_signal_cancels_at_once():
    supervisor = Supervisor(FakeClock(), shutdown_timeout=5)
    journal: list[str] = []
    cancelled = asyncio.Event()
    steady = Steady("admin bot", journal)

    async def stuck_send() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def ignore_stop() -> None:
        return None

    supervisor.add(steady.component)
    supervisor.add(Component("dispatcher", stuck_send, ignore_stop, grace=5))
    supervisor.install_signal_handlers()
    try:
        running = asyncio.create_task(supervisor.run())
        await steady.component.ready.wait()
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(0.01)
        assert supervisor.stopping and not running.done()
        os.kill(os.getpid(), signal.SIGINT)
        assert await asyncio.wait_for(running, timeout=2) == 0
    finally:
        supervisor.remove_signal_handlers()
    assert cancelled.is_set()


async def test_a_plain_loop_counts_as_ready_once_it_runs():
    supervisor = Supervisor(FakeClock())

    async def loop() -> None:
        await asyncio.Event().wait()

    supervisor.add(Component("follow-ups", loop))
    running = asyncio.create_task(supervisor.run())
    assert await supervisor.wait_ready(timeout=1) == []
    supervisor.request_stop()
    await running


def test_backoff_grows_and_is_capped():
    backoff = Backoff(initial=2, factor=3, maximum=30)
    assert [backoff.delay(n) for n in range(1, 6)] == [2, 6, 18, 30, 30]
    assert backoff.delay(10_000) == 30


def test_component_names_are_unique():
    supervisor = Supervisor(FakeClock())

    async def nothing() -> None:
        return None

    supervisor.add(Component("dispatcher", nothing))
    with pytest.raises(ValueError, match="dispatcher"):
        supervisor.add(Component("dispatcher", nothing))


async def test_a_crash_loop_logs_one_traceback_then_one_line_per_crash(caplog):
    supervisor = Supervisor(FakeClock())
    runs = 0

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs == 3:
            supervisor.request_stop()
        raise ConnectionError("Bot API unreachable")

    supervisor.add(Component("admin bot", flaky))
    await supervisor.run()

    crashes = [r for r in caplog.records if "crashed" in r.getMessage()]
    assert [bool(r.exc_info) for r in crashes] == [True, False, False]
    assert crashes[1].getMessage() == (
        "admin bot crashed again: ConnectionError: Bot API unreachable"
    )


async def test_an_outside_systems_failure_is_one_line_with_the_retry_and_no_traceback(caplog):
    """A port error (the network, Telegram, the database) says what is wrong in its own
    message: one warning with the retry time, the traceback only at DEBUG."""
    caplog.set_level(logging.DEBUG, logger="salesbot.supervisor")
    supervisor = Supervisor(FakeClock())
    runs = 0

    async def unreachable() -> None:
        nonlocal runs
        runs += 1
        if runs == 2:
            supervisor.request_stop()
        raise TelegramUnavailable("cannot reach the Bot API at api.telegram.org: ConnectError")

    bot = supervisor.add(Component("admin bot", unreachable, announces_ready=True))
    await supervisor.run()

    told = [r for r in caplog.records if r.levelno >= logging.INFO and "admin bot" in r.message]
    assert [r.getMessage() for r in told][:2] == [
        "admin bot is not up: cannot reach the Bot API at api.telegram.org: ConnectError; "
        "retrying in 1 s",
        "admin bot is not up: cannot reach the Bot API at api.telegram.org: ConnectError; "
        "retrying in 2 s",
    ]
    assert not any(r.exc_info for r in told)
    assert any(r.exc_info for r in caplog.records if r.levelno == logging.DEBUG)
    assert bot.trouble == "cannot reach the Bot API at api.telegram.org: ConnectError"
    assert supervisor.not_ready() == {"admin bot": bot.trouble}


async def test_not_ready_names_what_is_not_up_and_forgets_nothing_that_came_up():
    supervisor = Supervisor(FakeClock())
    up = asyncio.Event()

    async def late() -> None:
        await up.wait()
        slow.ready.set()
        await asyncio.Event().wait()

    async def never() -> None:
        await asyncio.Event().wait()

    slow = supervisor.add(Component("account pool", late, announces_ready=True, grace=0.01))
    supervisor.add(Component("dispatcher", never, grace=0.01))
    running = asyncio.create_task(supervisor.run())
    assert await supervisor.wait_ready(timeout=0.02) == ["account pool"]
    assert supervisor.not_ready() == {"account pool": ""}
    up.set()
    assert await supervisor.wait_ready(timeout=None) == []
    assert supervisor.not_ready() == {}
    supervisor.request_stop()
    assert await running == 0
