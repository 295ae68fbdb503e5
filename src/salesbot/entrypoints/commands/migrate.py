"""`salesbot migrate`: bring the database to the newest schema (alembic upgrade head).

Works with DATABASE_URL as the seed wrote it (`postgresql://user:pass@host:5432/db`) and,
when it is unset, with the embedded SQLite database, creating DATA_DIR on a first run.
Running it again on a migrated database changes nothing. A database the seed bot created
(its three tables, no alembic_version) is adopted: its rows move into the schema in one
transaction, and one line says what was adopted and which rows had to change.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from salesbot.entrypoints.commands import report_config_error
from salesbot.entrypoints.settings import ConfigError, Settings, load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check",
        action="store_true",
        help="only tell whether the database has the newest schema (exit 1 when it has not)",
    )


def describe_database(settings: Settings) -> str:
    """Where the data lives, without the password."""
    if settings.DATABASE_URL is None:
        return f"embedded SQLite at {settings.sqlite_path}"
    from sqlalchemy.engine import make_url

    url = make_url(settings.DATABASE_URL.get_secret_value())
    where = f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"
    return f"PostgreSQL {where}"


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
    from salesbot.adapters.persistence.migrations import (
        NotASeedDatabase,
        current_revision,
        head_revision,
        run_migrations,
    )

    url = settings.async_database_url
    database = describe_database(settings)
    head = head_revision()
    try:
        before = current_revision(url)
        if args.check:
            if before == head:
                print(f"{database} has the newest schema ({head}).")
                return 0
            print(
                f"{database} is at {before or 'no schema'}; the newest is {head}: "
                "run `salesbot migrate`."
            )
            return 1
        if before == head:
            print(f"{database} already has the newest schema ({head}).")
            return 0
        adopted = run_migrations(url, cipher_factory=lambda: session_cipher(settings))
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
    if adopted is not None:
        print(f"{adopted.line()} {database} now has the newest schema ({head}).")
        return 0
    print(f"Migrated {database} from {before or 'an empty database'} to {head}.")
    return 0
