"""`salesbot check`: is the configuration good enough to run?

Offline it loads the settings and applies `entrypoints/config_rules.py` (placeholders,
shapes, files, inline comments), printing every problem, one line each (exit 2). With
`--online` it then asks each outside system once (`commands/check_online.py`).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from salesbot.entrypoints import config_rules
from salesbot.entrypoints.commands import report_config_error
from salesbot.entrypoints.database import describe_database
from salesbot.entrypoints.settings import (
    RUN_REQUIRED,
    ConfigError,
    Settings,
    load_settings,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--online",
        action="store_true",
        help="also ask the Bot API, the model endpoint, the database and every account's "
        "session once (each bounded by a timeout)",
    )


def main(args: argparse.Namespace) -> int:
    settings, problems = read_configuration(args)
    if problems or settings is None:
        return report_config_error(ConfigError(problems))
    database = describe_database(settings)
    print(
        f"Configuration OK: {len(settings.ADMIN_TELEGRAM_ID)} admin(s), database {database}, "
        f"model {settings.OPENROUTER_MODEL}, time zone {settings.TIMEZONE}, "
        f"{settings.MAX_DAILY_MESSAGES} messages/day per account, "
        f"{settings.MIN_MESSAGE_DELAY} s between sends."
    )
    if not getattr(args, "online", False):
        return 0
    from salesbot.entrypoints.commands.check_online import check_online

    return check_online(settings)


def read_configuration(args: argparse.Namespace) -> tuple[Settings | None, list[str]]:
    """The settings (None when they cannot be loaded) and every problem found."""
    problems = config_rules.inline_comments(config_rules.raw_values(args.env_file, os.environ))
    commented = {line.split(":", 1)[0] for line in problems}
    try:
        settings = load_settings(RUN_REQUIRED, env_file=args.env_file)
    except ConfigError as error:
        told = [p for p in error.problems if p.split(":", 1)[0] not in commented]
        partial = _with_defaults_for(error, args)
        rest = [] if partial is None else config_rules.problems(partial, skip=_names(error))
        return None, problems + told + [p for p in rest if p.split(":", 1)[0] not in commented]
    rest = config_rules.problems(settings)
    return settings, problems + [p for p in rest if p.split(":", 1)[0] not in commented]


def _names(error: ConfigError) -> set[str]:
    return {problem.split(":", 1)[0] for problem in error.problems}


def _with_defaults_for(error: ConfigError, args: argparse.Namespace) -> Settings | None:
    """The settings with the variables that failed to load at their defaults, so that the
    other rules still run on the rest."""
    fields = Settings.model_fields
    defaults: dict[str, Any] = {
        name: fields[name].get_default(call_default_factory=True)
        for name in _names(error)
        if name in fields
    }
    try:
        return load_settings(env_file=args.env_file, **defaults)
    except ConfigError:
        return None
