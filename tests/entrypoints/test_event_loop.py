"""Every command runs on uvloop, and so does every async test (tests/conftest.py)."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from salesbot.entrypoints import event_loop


def test_run_gives_the_coroutines_result_from_a_uvloop_loop() -> None:
    async def main() -> tuple[str, object]:
        await asyncio.sleep(0)
        return "done", asyncio.get_running_loop()

    result, loop = event_loop.run(main())

    assert result == "done"
    assert isinstance(loop, uvloop.Loop)
    assert loop.is_closed()


def test_run_passes_the_coroutines_error_on() -> None:
    async def main() -> None:
        raise LookupError("no such dialog")

    with pytest.raises(LookupError, match="no such dialog"):
        event_loop.run(main())


async def test_async_tests_run_on_the_products_loop() -> None:
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
