"""`salesbot run` for the end-to-end test: the real command in a real process, with the
Telegram stand-in of tests/fakes in place of Telegram and timing fast enough for a test.

Run as `python -m tests.entrypoints.run_with_standin http://127.0.0.1:PORT` with the
settings in the environment. The product itself has no test hook.
"""

from __future__ import annotations

import sys

from salesbot.adapters.logging import configure_logging
from salesbot.application.outbox.typing_pace import NO_TYPING
from salesbot.entrypoints import event_loop
from salesbot.entrypoints.commands.run import run
from salesbot.entrypoints.settings import RUN_REQUIRED, load_settings
from salesbot.entrypoints.timing import Timing
from tests.fakes.standin_client import StandinTelegram

FAST = Timing(
    pool_refresh=0.5,
    lock_check=0.2,
    lock_lease=1.0,
    takeover_wait=1.5,
    dispatcher_idle=0.1,
    dispatcher_supervise=0.1,
    typing=NO_TYPING,
    follow_up_interval=1.0,
    feeder_idle=0.2,
    feeder_resolve_interval=0.0,
    database_ping_interval=1.0,
    notifier_window=0.1,
    update_state_flush=0.2,
    ready_wait=3.0,
    election_interval=0.3,
)


async def serve(standin_url: str) -> int:
    settings = load_settings(RUN_REQUIRED, env_file=None)
    configure_logging(settings.LOG_LEVEL, settings.LOG_FILE, settings.secret_values())
    telegram = StandinTelegram(standin_url, poll_timeout=0.5)
    try:
        return await run(settings, telegram=telegram, login=telegram, timing=FAST)
    finally:
        await telegram.aclose()


def main(standin_url: str) -> int:
    return event_loop.run(serve(standin_url))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
