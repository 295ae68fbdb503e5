"""The `salesbot` command: argparse with one sub-command per job, each in its own module.

Sub-command modules are imported only when run, so `salesbot check` stays fast and works
before the heavier adapters' dependencies are even touched.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from salesbot import __version__

# name -> (module under salesbot.entrypoints.commands, help)
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("check", "validate the configuration and print one line per problem"),
    "run": ("run", "run the admin bot, the accounts, the sender and the follow-ups until stopped"),
    "rehearse": ("rehearse", "play a prospect in the terminal; the sales script and model answer"),
    "account": ("account", "log Telegram accounts in, import session strings, list accounts"),
    "migrate": ("migrate", "create or upgrade the database schema (alembic upgrade head)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salesbot",
        description="AI-led sales conversations from Telegram user accounts.",
    )
    parser.add_argument("--version", action="version", version=f"salesbot {__version__}")
    parser.add_argument(
        "--env-file",
        default=".env",
        help="read settings from this file as well as the environment (default: .env)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        module = importlib.import_module(f"salesbot.entrypoints.commands.{module_name}")
        module.add_arguments(sub)
        sub.set_defaults(handler=module.main)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
