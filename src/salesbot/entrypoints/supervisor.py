"""Keeps the process's components running until it is told to stop.

Each component (the admin bot's polling, the account pool, the dispatcher loop, the
follow-up scheduler, the database watch) runs as its own task. A crash is logged and the
component restarted after a growing pause, inside the process: a flaky network or one bad
account never takes the admin bot down with it. A failure of an outside system (a
`PortError`: the network, Telegram, the database) is one line with the retry time, its
traceback only at DEBUG; anything else is a bug and logs its traceback. Only
`Unrecoverable` ends the process with a non-zero code: 1 for systemd to restart it, 2 for
what only the env file fixes (the unit does not restart on 2).

Shutdown (SIGTERM/SIGINT, or `Unrecoverable`) goes through the components in reverse order
of registration: each is asked to `stop` and given `grace` seconds to return (an in-flight
send finishes), then cancelled. Register them in start-up order (pool before dispatcher
before admin bot) and they stop the other way round: the bot stops taking commands first,
the pool disconnects the clients last.

Pauses between restarts and the `healthy_after` window use the Clock port, so tests drive
them with a FakeClock; the shutdown grace is wall time, since it races systemd's
TimeoutStopSec.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from salesbot.application.errors import PortError
from salesbot.application.ports import Clock

log = logging.getLogger("salesbot.supervisor")

RunFunction = Callable[[], Awaitable[None]]
StopFunction = Callable[[], Awaitable[None]]


class Unrecoverable(Exception):
    """Nothing inside the process can fix this: stop everything and exit non-zero."""

    def __init__(self, reason: str, exit_code: int = 1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.exit_code = exit_code


@dataclass(frozen=True)
class Backoff:
    """Pause before the n-th restart in a row: initial * factor**(n-1), at most `maximum`."""

    initial: float = 1.0
    factor: float = 2.0
    maximum: float = 60.0

    def delay(self, failures: int) -> float:
        exponent = max(0, failures - 1)
        return min(self.maximum, self.initial * self.factor ** min(exponent, 64))


@dataclass
class Component:
    """Something the process keeps alive.

    `run` works until it is stopped (a loop, or a start followed by waiting); returning on
    its own counts as a crash unless `once` is set. `stop` asks `run` to return soon; a
    component without one is cancelled at shutdown (its `finally` blocks clean up) — fine
    for loops that may be interrupted anywhere, such as a dispatcher whose interrupted
    send is reconciled at the next start.
    `ready` is set by the component itself when `announces_ready` (its start-up work is
    done: accounts connected, bot polling), otherwise as soon as `run` starts (a plain
    loop); a `once` job is ready when it has run. The ready line waits for all of them.
    """

    name: str
    run: RunFunction
    stop: StopFunction | None = None
    once: bool = False
    grace: float = 10.0
    announces_ready: bool = False
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    trouble: str = ""
    """Why its last run failed (empty when it never did): the degraded line says it."""


class Resident:
    """Adapts a `start()`/`stop()` object (PTB Application wrapper, account pool) to a
    component: run = start, mark ready, wait until asked to stop, then stop.

    A failed `start` is a crash: the supervisor retries it after the back-off, and the
    half-started thing is stopped first so no client or connection leaks.
    """

    def __init__(self, name: str, start: StopFunction, stop: StopFunction, grace: float = 10.0):
        self._start, self._stop = start, stop
        self._stopping = asyncio.Event()
        self.component = Component(
            name, self.run, self.request_stop, grace=grace, announces_ready=True
        )

    async def run(self) -> None:
        self._stopping.clear()
        try:
            await self._start()
            self.component.ready.set()
            await self._stopping.wait()
        finally:
            self.component.ready.clear()
            await asyncio.shield(self._stop_quietly())

    async def request_stop(self) -> None:
        self._stopping.set()

    async def _stop_quietly(self) -> None:
        try:
            await self._stop()
        except Exception:
            log.exception("%s: stopping failed", self.component.name)


class Supervisor:
    def __init__(
        self,
        clock: Clock,
        *,
        backoff: Backoff | None = None,
        healthy_after: float = 60.0,
        shutdown_timeout: float = 30.0,
    ) -> None:
        self._clock = clock
        self._backoff = backoff or Backoff()
        self._healthy_after = healthy_after
        self._shutdown_timeout = shutdown_timeout
        self._components: list[Component] = []
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stopping = asyncio.Event()
        self._fatal: Unrecoverable | None = None
        self.restarts: dict[str, int] = {}

    @property
    def components(self) -> list[Component]:
        return list(self._components)

    def add(self, component: Component) -> Component:
        if any(c.name == component.name for c in self._components):
            raise ValueError(f"a component named {component.name!r} exists already")
        self._components.append(component)
        self.restarts[component.name] = 0
        return component

    def request_stop(self, reason: str = "asked to stop") -> None:
        if not self._stopping.is_set():
            log.info("Stopping: %s", reason)
            self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    @property
    def stopping_event(self) -> asyncio.Event:
        """Set once a stop was requested (start-up waits watch it too)."""
        return self._stopping

    def install_signal_handlers(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """SIGTERM (systemd) and SIGINT (Ctrl-C) start a graceful stop; a second one cancels
        whatever is still running."""
        loop = loop or asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)

    def remove_signal_handlers(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        loop = loop or asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        if self._stopping.is_set():
            log.warning("%s again: cancelling what is still running", sig.name)
            for task in self._tasks.values():
                task.cancel()
            return
        self.request_stop(f"received {sig.name}")

    def not_ready(self) -> dict[str, str]:
        """The components not ready now, each with why its last run failed ("" if it did not)."""
        return {c.name: c.trouble for c in self._components if not c.ready.is_set()}

    async def wait_ready(self, timeout: float | None) -> list[str]:
        """Wait (wall time) until every component is ready; return the names still not."""
        waits = [asyncio.ensure_future(c.ready.wait()) for c in self._components]
        if waits:
            _, pending = await asyncio.wait(waits, timeout=timeout)
            for waiter in pending:
                waiter.cancel()
        return [c.name for c in self._components if not c.ready.is_set()]

    async def run(self) -> int:
        """Run every component until a stop is requested; return the exit code."""
        for component in self._components:
            self._tasks[component.name] = asyncio.create_task(
                self._keep_running(component), name=f"component:{component.name}"
            )
        try:
            await self._stopping.wait()
        finally:
            await self._shut_down()
        if self._fatal is not None:
            log.critical("Exiting: %s", self._fatal.reason)
            return self._fatal.exit_code
        return 0

    async def _keep_running(self, component: Component) -> None:
        failures = 0
        while not self._stopping.is_set():
            started = self._clock.now()
            if not component.once and not component.announces_ready:
                component.ready.set()
            try:
                await component.run()
            except asyncio.CancelledError:
                raise
            except Unrecoverable as fatal:
                if self._fatal is None:
                    self._fatal = fatal
                self.request_stop(f"{component.name}: {fatal.reason}")
                return
            except PortError as error:  # an outside system's failure, told by its message
                failures = 1 if self._healthy(started) else failures + 1
                component.trouble = str(error) or type(error).__name__
                delay = self._backoff.delay(failures)
                self.restarts[component.name] += 1
                log.warning("%s is not up: %s; retrying in %.0f s", component.name,
                            component.trouble, delay)
                log.debug("%s: the failure", component.name, exc_info=error)
                await self._pause(delay)
                continue
            except Exception as error:
                component.trouble = f"{type(error).__name__}: {error}"
                if self._healthy(started):
                    failures = 0
                if failures == 0:
                    log.exception("%s crashed", component.name)
                else:  # its traceback was logged at the first failure in this row
                    log.error("%s crashed again: %s: %s", component.name,
                              type(error).__name__, error)
            else:
                if component.once:
                    component.ready.set()
                    return
                if self._stopping.is_set():
                    return
                log.error("%s returned on its own", component.name)
            failures = 1 if self._healthy(started) else failures + 1
            delay = self._backoff.delay(failures)
            self.restarts[component.name] += 1
            log.warning("%s: restarting in %.0f s (failure %d in a row)", component.name, delay,
                        failures)
            await self._pause(delay)

    def _healthy(self, started: datetime) -> bool:
        """It ran long enough for its failure to start a new row."""
        return (self._clock.now() - started).total_seconds() >= self._healthy_after

    async def _pause(self, seconds: float) -> None:
        """Sleep on the clock, cut short by a stop request."""
        if self._stopping.is_set():
            return
        sleeper = asyncio.ensure_future(self._clock.sleep(seconds))
        stopper = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (sleeper, stopper):
                waiter.cancel()

    async def _shut_down(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._shutdown_timeout

        def until(moment: float) -> float:
            return max(0.0, moment - loop.time())

        for component in reversed(self._components):
            task = self._tasks.get(component.name)
            if task is None or task.done():
                continue
            own_deadline = min(deadline, loop.time() + component.grace)
            if component.stop is not None:
                await self._ask_to_stop(component, until(own_deadline))
                await asyncio.wait({task}, timeout=until(own_deadline))
                if task.done():
                    continue
                log.warning("%s did not stop within %.1f s: cancelling it",
                            component.name, component.grace)
                own_deadline = min(deadline, loop.time() + 1.0)
            # Without a stop(), cancelling is how it stops: its finally blocks clean up.
            task.cancel()
            await asyncio.wait({task}, timeout=max(until(own_deadline), 0.1))
        for component in self._components:
            task = self._tasks.get(component.name)
            if task is not None and task.done() and not task.cancelled():
                error = task.exception()
                if error is not None:
                    log.error("%s ended with %r", component.name, error)
        log.info("All components stopped")

    async def _ask_to_stop(self, component: Component, budget: float) -> None:
        assert component.stop is not None
        try:
            await asyncio.wait_for(component.stop(), timeout=max(budget, 0.001))
        except asyncio.TimeoutError:
            log.warning("%s: stop() took longer than %.1f s", component.name, budget)
        except Exception:
            log.exception("%s: stop() failed", component.name)
