"""`salesbot check`: is the configuration good enough to run?"""

from __future__ import annotations

import argparse

from salesbot.entrypoints.commands import report_config_error
from salesbot.entrypoints.database import describe_database
from salesbot.entrypoints.settings import RUN_REQUIRED, ConfigError, load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults()


def main(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(RUN_REQUIRED, env_file=args.env_file)
    except ConfigError as error:
        return report_config_error(error)
    database = describe_database(settings)
    print(
        f"Configuration OK: {len(settings.ADMIN_TELEGRAM_ID)} admin(s), database {database}, "
        f"model {settings.OPENROUTER_MODEL}, time zone {settings.TIMEZONE}, "
        f"{settings.MAX_DAILY_MESSAGES} messages/day per account, "
        f"{settings.MIN_MESSAGE_DELAY} s between sends."
    )
    return 0
