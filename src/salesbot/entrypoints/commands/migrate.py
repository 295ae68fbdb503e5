"""`salesbot migrate`: bring the database to the newest schema (alembic upgrade head).

Works with DATABASE_URL as the seed wrote it (`postgresql://user:pass@host:5432/db`) and,
when it is unset, with the embedded PostgreSQL server in DATA_DIR (created on a first run).
Running it again on a migrated database changes nothing. A database the seed bot created
(its three tables, no alembic_version) is adopted: its rows move into the schema in one
transaction, and one line says what was adopted and which rows had to change.

On a terminal (stderr a TTY) a progress bar counts the revisions applied: the unit of work
alembic has. Adopting the seed's tables applies them too; the copy of the seed's rows that
follows (small: one bot's accounts, dialogs and messages) is not counted on the bar. Piped
or in a log, nothing but the result line is written.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from salesbot.entrypoints.commands import report_config_error
from salesbot.entrypoints.database import database_url, describe_database, has_database
from salesbot.entrypoints.settings import ConfigError, Settings, load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check",
        action="store_true",
        help="only tell whether the database has the newest schema (exit 1 when it has not)",
    )


def session_cipher(settings: Settings) -> Any:
    """The cipher `salesbot run` will read session strings with (as the container builds
    it): adopting the seed's database encrypts its session strings with it."""
    from salesbot.adapters.persistence import FernetSessionCipher, load_or_create_session_secret

    if settings.SESSION_SECRET is not None and settings.SESSION_SECRET.get_secret_value():
        return FernetSessionCipher(settings.SESSION_SECRET.get_secret_value())
    return FernetSessionCipher(load_or_create_session_secret(settings.DATA_DIR / "session_secret"))


def main(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(env_file=args.env_file)
    except ConfigError as error:
        return report_config_error(error)
    from salesbot.adapters.persistence.migrations import NotASeedDatabase

    database = describe_database(settings)
    if args.check and not has_database(settings):  # looking sets nothing up
        print(f"{database} has no schema yet: run `salesbot migrate`.")
        return 1
    try:
        with database_url(settings) as url:
            return _migrate(url, database, settings, check=args.check)
    except NotASeedDatabase as error:
        print(f"Cannot migrate {database}: {error}.", file=sys.stderr)
        return 1
    except Exception as error:  # one clear line at the command's edge, no traceback
        reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
        print(
            f"Cannot migrate {database}: {type(error).__name__}"
            f"{': ' + reason if reason else ''}. Check DATABASE_URL and that the server runs.",
            file=sys.stderr,
        )
        return 1


def _migrate(url: str, database: str, settings: Settings, *, check: bool) -> int:
    from salesbot.adapters.persistence.migrations import (
        current_revision,
        head_revision,
        pending_revisions,
        run_migrations,
    )

    head = head_revision()
    before = current_revision(url)
    if check:
        if before == head:
            print(f"{database} has the newest schema ({head}).")
            return 0
        current = before or "no schema"
        print(f"{database} is at {current}; the newest is {head}: run `salesbot migrate`.")
        return 1
    if before == head:
        print(f"{database} already has the newest schema ({head}).")
        return 0
    with revision_bar(pending_revisions(url), sys.stderr) as step:
        adopted = run_migrations(
            url, cipher_factory=lambda: session_cipher(settings), on_revision=step
        )
    if adopted is not None:
        print(f"{adopted.line()} {database} now has the newest schema ({head}).")
        return 0
    print(f"Migrated {database} from {before or 'an empty database'} to {head}.")
    return 0


@contextlib.contextmanager
def revision_bar(total: int, stream: TextIO) -> Iterator[Callable[[], None]]:
    """A step function for each revision applied: a tqdm bar on `stream` when it is a
    terminal, nothing otherwise; the bar is cleared when done."""
    if total <= 0 or not stream.isatty():
        yield lambda: None
        return
    from tqdm import tqdm

    with tqdm(total=total, desc="Migrating", unit="revision", file=stream, leave=False) as bar:
        yield lambda: bar.update(1)
