"""`salesbot run`: the admin bot, the accounts, the sender and the follow-ups in one process.

Before anything starts: the configuration is validated (one line per problem, exit 2), the
database must answer (waited for up to a minute: PostgreSQL may still be starting at boot)
and be migrated ("run `salesbot migrate`", exit 1), and SESSION_SECRET must open the stored
sessions (exit 2). Then every component runs under the supervisor until SIGTERM/SIGINT
(exit 0) or an unrecoverable error: a long database outage (exit 1, systemd restarts us),
BOT_TOKEN or API_ID/API_HASH rejected by Telegram (exit 2, like a configuration error:
the unit's RestartPreventExitStatus=2 leaves it stopped until the env file is fixed).
"""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING, Any

from salesbot.entrypoints import event_loop
from salesbot.entrypoints.commands import report_config_error, start_logging
from salesbot.entrypoints.settings import RUN_REQUIRED, ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from salesbot.adapters.system_clock import SystemClock
    from salesbot.entrypoints.supervisor import Supervisor
    from salesbot.entrypoints.timing import Timing

log = logging.getLogger("salesbot.run")

DATABASE_WAIT_SECONDS = 60.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults()


def main(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(RUN_REQUIRED, env_file=args.env_file)
    except ConfigError as error:
        return report_config_error(error)

    refused = start_logging(settings.LOG_LEVEL, settings.LOG_FILE, settings.secret_values())
    if refused is not None:
        return refused
    try:
        return event_loop.run(run(settings))
    except KeyboardInterrupt:  # a Ctrl-C before the signal handlers were installed
        return 0


async def run(
    settings: Settings,
    *,
    telegram: Any = None,
    login: Any = None,
    timing: Timing | None = None,
) -> int:
    """The whole service until SIGTERM; `telegram`, `login` and `timing` replace the real
    Telegram clients and the production timing (the end-to-end test's entry point passes its
    stand-in)."""
    from salesbot.adapters.system_clock import SystemClock
    from salesbot.entrypoints.database import DatabaseNotStarted, open_database
    from salesbot.entrypoints.supervisor import Supervisor
    from salesbot.entrypoints.timing import Timing

    clock = SystemClock()
    supervisor = Supervisor(clock)
    supervisor.install_signal_handlers()
    timing = timing or Timing()
    try:
        async with open_database(settings) as url:
            return await _serve(settings, url, clock, supervisor, timing, telegram, login)
    except DatabaseNotStarted as error:
        log.critical("The embedded PostgreSQL could not start: %s", error)
        return 1


async def _serve(
    settings: Settings,
    url: str,
    clock: SystemClock,
    supervisor: Supervisor,
    timing: Timing,
    telegram: Any,
    login: Any,
) -> int:
    from dependency_injector import providers

    from salesbot.entrypoints.container import Container, resolve, shut_down
    from salesbot.entrypoints.serving import check_sessions, serve
    from salesbot.entrypoints.startup import StartupRefused, check_database

    try:
        await check_database(
            url, clock, wait=DATABASE_WAIT_SECONDS, stopping=supervisor.stopping_event
        )
    except StartupRefused as refusal:
        log.critical("%s", refusal)
        return refusal.exit_code
    if supervisor.stopping:
        return 0

    container = Container(settings=providers.Object(settings), database_url=providers.Object(url))
    container.clock.override(providers.Object(clock))
    container.timing.override(providers.Object(timing))
    if telegram is not None:
        container.telegram.override(providers.Object(telegram))
    if login is not None:
        container.telegram_login.override(providers.Object(login))
    try:
        service = await resolve(container.service())
        try:
            await check_sessions(service)
        except StartupRefused as refusal:
            log.critical("%s", refusal)
            return refusal.exit_code
        return await serve(service, supervisor)
    finally:
        await shut_down(container)
        log.info("salesbot stopped")
