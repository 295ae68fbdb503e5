"""`salesbot check --online`'s checks for the tests: the real code in a real process, with the
Telegram stand-in of tests/fakes in place of Telegram for the accounts' sessions.

Run as `python -m tests.entrypoints.check_with_standin http://127.0.0.1:PORT` with the
settings in the environment. The product itself has no test hook.
"""

from __future__ import annotations

import sys

from salesbot.entrypoints import event_loop
from salesbot.entrypoints.commands.check_online import run_online
from salesbot.entrypoints.settings import RUN_REQUIRED, load_settings
from tests.fakes.standin_client import StandinTelegram


async def check(standin_url: str) -> int:
    settings = load_settings(RUN_REQUIRED, env_file=None)
    telegram = StandinTelegram(standin_url, poll_timeout=0.5)
    try:
        return await run_online(settings, telegram=telegram, timeout=5)
    finally:
        await telegram.aclose()


if __name__ == "__main__":
    sys.exit(event_loop.run(check(sys.argv[1])))
