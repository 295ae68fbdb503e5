"""Checks `salesbot run` makes before starting anything: the database answers and is
migrated. A refusal carries the exit code and one line telling the operator what to do."""

from __future__ import annotations

import asyncio
import logging

from salesbot.application.ports import Clock

log = logging.getLogger("salesbot.startup")


class StartupRefused(Exception):
    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


async def check_database(
    url: str,
    clock: Clock,
    *,
    wait: float = 60.0,
    retry_every: float = 2.0,
    stopping: asyncio.Event | None = None,
) -> None:
    """Wait (up to `wait` seconds of `clock` time) for the database to answer, then make
    sure its schema is the newest; StartupRefused otherwise."""
    from salesbot.adapters.persistence.migrations import current_revision, head_revision

    # alembic's plugin and DDL-mode lines on every check are shown at DEBUG only: the
    # logging setup demotes them (adapters/logging/setup.py), one rule for every command.
    started = clock.now()
    told = False
    while True:
        try:
            current = await asyncio.to_thread(current_revision, url)
            break
        except Exception as error:
            waited = (clock.now() - started).total_seconds()
            if waited >= wait:
                raise StartupRefused(
                    f"The database does not answer after {waited:.0f} s ({_describe(error)}): "
                    "check DATABASE_URL and that PostgreSQL runs"
                ) from None
            if not told:
                log.warning("Waiting for the database: %s", _describe(error))
                told = True
        if stopping is not None and stopping.is_set():
            return
        await clock.sleep(retry_every)
    head = head_revision()
    if current != head:
        state = "empty" if current is None else f"at revision {current}"
        raise StartupRefused(
            f"The database is not migrated ({state}, salesbot needs {head}): "
            "run `salesbot migrate`"
        )
