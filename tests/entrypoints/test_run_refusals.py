"""`salesbot run` tells the truth (issue 17): a rejected BOT_TOKEN stops it with the status
the systemd unit does not restart and no "ready" line; an unreachable Bot API is one line
naming the host, no traceback, and a "degraded" line instead of "ready".

The same subprocess and stand-ins as the end-to-end test (test_run_e2e.py).
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from salesbot.adapters.persistence import run_migrations
from salesbot.entrypoints.commands import CONFIG_EXIT
from tests import secrets
from tests.entrypoints.test_run_e2e import Salesbot, World, fresh_database, world

pytestmark = pytest.mark.timeout(120)

__all__ = ["fresh_database", "world"]  # the fixtures, used by name


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_rejected_bot_token_stops_run_with_the_no_restart_status_and_no_ready_line(
    world: World,
):
    await asyncio.to_thread(run_migrations, world.database_url)
    world.bot.token = "123456:another-bot"  # the Bot API answers getMe with 401
    salesbot = await world.salesbot()
    assert await salesbot.exit_code() == CONFIG_EXIT
    assert "salesbot ready" not in salesbot.output
    assert "salesbot degraded" not in salesbot.output
    assert "Traceback" not in salesbot.output, salesbot.output
    (exiting,) = [line for line in salesbot.lines if "Exiting:" in line]
    assert "Telegram rejected BOT_TOKEN" in exiting
    assert f"127.0.0.1:{world.bot.port}" in exiting, "names the Bot API it asked"
    assert secrets.leaks(salesbot.output) == []


async def test_an_unreachable_bot_api_is_one_line_naming_the_host_and_run_is_degraded(
    world: World,
):
    await asyncio.to_thread(run_migrations, world.database_url)
    host = f"127.0.0.1:{closed_port()}"
    env = {**world.env(), "BOT_API_BASE_URL": f"http://{host}"}
    salesbot = await Salesbot(env, world.tmp_path, world.telegram.base_url).start()
    world.running.append(salesbot)
    degraded = await salesbot.wait_line("salesbot degraded")
    assert "admin bot not up (cannot reach the Bot API at " + host in degraded
    assert "0 account(s) connected" in degraded
    assert await salesbot.terminate() == 0
    failures = [line for line in salesbot.lines if "admin bot is not up" in line]
    assert failures, salesbot.output
    assert all(host in line and "retrying in" in line for line in failures)
    assert "Traceback" not in salesbot.output, salesbot.output
    assert "salesbot ready" not in salesbot.output
    assert secrets.leaks(salesbot.output) == []
