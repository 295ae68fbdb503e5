"""The event loop every command runs on: uvloop's.

A message through the pipeline is 16 round trips to PostgreSQL, and asyncio's own loop
(pure Python selectors and callbacks) spent more of this process's CPU per round trip than
asyncpg spends on the statement. On uvloop (libuv) the same pipeline does ~1.4x the
messages per second with ~15% less CPU per message (`bench/pipeline.py`). Kurigram,
python-telegram-bot, httpx and asyncpg run on it unchanged; the test suite runs every
async test on it too (`tests/conftest.py`).
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

import uvloop

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` on a new uvloop loop."""
    return uvloop.run(main)


new_event_loop = uvloop.new_event_loop
