"""The `salesbot` command: argparse with one sub-command per job, each in its own module.

Sub-command modules are imported only when run, so `salesbot check` stays fast and works
before the heavier adapters' dependencies are even touched.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from salesbot import __version__

# name -> (module under salesbot.entrypoints.commands, help)
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("check", "validate the configuration and print one line per problem"),
    "run": ("run", "run the admin bot, the accounts, the sender and the follow-ups until stopped"),
    "rehearse": ("rehearse", "play a prospect in the terminal; the sales script and model answer"),
    "account": ("account", "log Telegram accounts in, import session strings, list accounts"),
    "campaign": ("campaign", "import a lead list as a campaign (.csv or .txt), with a report"),
    "migrate": ("migrate", "create or upgrade the database schema (alembic upgrade head)"),
}
# Read when it exists and no --env-file is given; a file named by --env-file must exist.
DEFAULT_ENV_FILE = ".env"
ENV_FILE_HELP = (
    "read settings from this file as well as the environment (default: .env when it exists)"
)


def _add_env_file_option(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("--env-file", metavar="FILE", default=default, help=ENV_FILE_HELP)


def _nested_parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """A sub-command's own sub-commands (`account login`), at any depth."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for nested in action.choices.values():
                yield nested
                yield from _nested_parsers(nested)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salesbot",
        description="AI-led sales conversations from Telegram user accounts.",
    )
    parser.add_argument("--version", action="version", version=f"salesbot {__version__}")
    _add_env_file_option(parser, None)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        module = importlib.import_module(f"salesbot.entrypoints.commands.{module_name}")
        module.add_arguments(sub)
        # `salesbot check --env-file F` as well as `salesbot --env-file F check` (and
        # `account login --env-file F`); SUPPRESS keeps a later parser from resetting a
        # value given before it.
        for level in (sub, *_nested_parsers(sub)):
            _add_env_file_option(level, argparse.SUPPRESS)
        sub.set_defaults(handler=module.main)
    return parser


def _env_file(parser: argparse.ArgumentParser, given: str | None) -> str:
    """The env file to read: a file the operator named must be there, or the command would
    run on defaults and the environment alone without saying so."""
    if given is None:
        return DEFAULT_ENV_FILE
    path = Path(given)
    if not path.is_file():
        parser.error(f"--env-file {given}: no such file")
    if not os.access(path, os.R_OK):
        parser.error(f"--env-file {given}: cannot be read (permission denied)")
    return given


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.env_file = _env_file(parser, args.env_file)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
