"""One module per `salesbot` sub-command: `add_arguments(parser)` and `main(args) -> int`.

Modules import their heavy dependencies inside `main`, so building the parser stays cheap.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from salesbot.entrypoints.settings import ConfigError, Settings

if TYPE_CHECKING:
    from salesbot.entrypoints.container import Container

CONFIG_EXIT = 2


def report_config_error(error: ConfigError) -> int:
    """Print one line per configuration problem, naming the variable; the exit code."""
    print("The configuration has problems:", file=sys.stderr)
    for problem in error.problems:
        print(f"  {problem}", file=sys.stderr)
    return CONFIG_EXIT


def start_logging(level: str, log_file: Path | None, secrets: Any, **options: Any) -> int | None:
    """The logging setup; a log file that cannot be written is one line naming LOG_FILE and
    the configuration error's exit code (None: logging is on)."""
    from salesbot.adapters.logging import configure_logging

    try:
        configure_logging(level, log_file, secrets, **options)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        print(
            f"The configuration has problems:\n  LOG_FILE: cannot write {log_file} ({reason}); "
            "expected a file in a folder this user may write, or no LOG_FILE",
            file=sys.stderr,
        )
        return CONFIG_EXIT
    return None


async def with_database(settings: Settings, body: Callable[[Container], Awaitable[int]]) -> int:
    """Run a command that needs the database only (no Telegram, no model): the database
    opened (the embedded server when DATABASE_URL is unset), checked at once, and a container
    on it handed to `body`; a refusal is one line and its exit code."""
    from dependency_injector import providers

    from salesbot.entrypoints.container import Container
    from salesbot.entrypoints.database import DatabaseNotStarted, open_database
    from salesbot.entrypoints.startup import StartupRefused, check_database

    try:
        async with open_database(settings) as url:
            container = Container(
                settings=providers.Object(settings), database_url=providers.Object(url)
            )
            try:
                await check_database(url, container.clock(), wait=0)
            except StartupRefused as refusal:
                print(refusal, file=sys.stderr)
                return refusal.exit_code
            return await body(container)
    except DatabaseNotStarted as error:
        print(f"The embedded PostgreSQL could not start: {error}", file=sys.stderr)
        return 1
