"""One background job per key, where scheduling again replaces the previous job.

IncomingMessages keys jobs by (account id, prospect's user id): a new message cancels the
reply job still waiting out its debounce window (or waiting for the model) and starts a new
one that will see everything. A per-key lock serialises the short critical sections
(storing a message and cancelling queued replies; checking and queueing an answer), so an
answer written from an older view can never slip in after a newer message was stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Hashable
from contextlib import AbstractAsyncContextManager
from typing import Any

logger = logging.getLogger(__name__)

JobFactory = Callable[[], Coroutine[Any, Any, None]]


class _Slot:
    __slots__ = ("lock", "task", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.task: asyncio.Task[None] | None = None
        self.users = 0


class _Held(AbstractAsyncContextManager[None]):
    """One `async with` of a key's lock; the slot is dropped once nobody needs it. A class,
    not a generator: it is entered twice per incoming message."""

    __slots__ = ("_jobs", "_key", "_slot")

    def __init__(self, jobs: KeyedJobs, key: Hashable) -> None:
        self._jobs = jobs
        self._key = key
        self._slot: _Slot | None = None

    async def __aenter__(self) -> None:
        slot = self._jobs._slot(self._key)
        slot.users += 1
        try:
            await slot.lock.acquire()
        except BaseException:
            slot.users -= 1
            self._jobs._release(self._key, slot)
            raise
        self._slot = slot

    async def __aexit__(self, *exc_info: object) -> None:
        slot = self._slot
        assert slot is not None
        self._slot = None
        slot.lock.release()
        slot.users -= 1
        self._jobs._release(self._key, slot)


class KeyedJobs:
    def __init__(self, name: str = "job") -> None:
        self._name = name
        self._slots: dict[Hashable, _Slot] = {}
        self._closed = False

    def __len__(self) -> int:
        """How many jobs are scheduled or running."""
        return sum(1 for s in self._slots.values() if s.task is not None and not s.task.done())

    def _slot(self, key: Hashable) -> _Slot:
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _Slot()
        return slot

    def _release(self, key: Hashable, slot: _Slot) -> None:
        idle = slot.users == 0 and (slot.task is None or slot.task.done())
        if idle and self._slots.get(key) is slot:
            del self._slots[key]

    def lock(self, key: Hashable) -> AbstractAsyncContextManager[None]:
        """The key's lock, held for an `async with` block."""
        return _Held(self, key)

    def replace(self, key: Hashable, job: JobFactory) -> None:
        """Cancel the key's job, if any, and start `job()` in its place."""
        if self._closed:
            return
        slot = self._slot(key)
        if slot.task is not None and not slot.task.done():
            slot.task.cancel()
        slot.task = asyncio.get_running_loop().create_task(self._run(key, slot, job))

    def cancel(self, key: Hashable) -> None:
        slot = self._slots.get(key)
        if slot is not None and slot.task is not None and not slot.task.done():
            slot.task.cancel()

    def is_scheduled(self, key: Hashable) -> bool:
        slot = self._slots.get(key)
        return slot is not None and slot.task is not None and not slot.task.done()

    async def _run(self, key: Hashable, slot: _Slot, job: JobFactory) -> None:
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("%s for %s failed", self._name, key)
        finally:
            if slot.task is asyncio.current_task():
                slot.task = None
            self._release(key, slot)

    async def drain(self) -> None:
        """Wait until no job is scheduled or running (jobs may start others meanwhile)."""
        while True:
            tasks = [s.task for s in self._slots.values() if s.task is not None]
            if not tasks:
                return
            await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        """Cancel every job and wait for them to finish."""
        self._closed = True
        tasks = [s.task for s in self._slots.values() if s.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
