"""`salesbot check --online`: each outside system asked once, one line each.

The Bot API (`getMe`: the bot's @username), the model endpoint (`adapters/llm/probe.py`:
the key, the models, the credit), the database (answers, has the newest schema) and every
account's session (`application/accounts/check_sessions.py`). Each is bounded by
`TIMEOUT`; every line goes through a secret mask holding the configured secrets (as the
log lines do), so no token or key is ever printed. Exit 1 when any check fails.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import Any, TextIO

from salesbot.application.accounts.check_sessions import SessionVerdict
from salesbot.entrypoints import event_loop
from salesbot.entrypoints.settings import Settings

TIMEOUT = 10.0
ONLINE_FAILED_EXIT = 1

Line = tuple[bool, str]


def check_online(settings: Settings) -> int:
    from salesbot.adapters.logging import configure_logging

    # The libraries' warnings (a retried connection, say) go masked to stderr, and not to
    # LOG_FILE: run as root, this command would otherwise make a log the service cannot write.
    configure_logging("WARNING", None, settings.secret_values())
    return event_loop.run(run_online(settings))


async def run_online(
    settings: Settings,
    *,
    out: TextIO | None = None,
    timeout: float = TIMEOUT,
    telegram: Any = None,
) -> int:
    """Print one line per check; the exit code. Tests pass a Telegram stand-in."""
    from salesbot.adapters.logging.masking import SecretMask

    out = out or sys.stdout
    mask = SecretMask()
    mask.add(*settings.secret_values())
    failed = 0
    async for ok, line in _checks(settings, timeout, telegram):
        failed += not ok
        print(mask(f"{'ok  ' if ok else 'FAIL'}  {line}"), file=out, flush=True)
    if failed:
        print(f"{failed} online check(s) failed.", file=out)
        return ONLINE_FAILED_EXIT
    print("Every online check passed.", file=out)
    return 0


async def _checks(settings: Settings, timeout: float, telegram: Any) -> AsyncIterator[Line]:
    import httpx

    async with httpx.AsyncClient(timeout=timeout) as http:
        yield await _bot_api(http, settings)
        yield await _model(http, settings)
    async for line in _database_and_accounts(settings, timeout, telegram):
        yield line


async def _bot_api(http: Any, settings: Settings) -> Line:
    from salesbot.adapters.admin_bot.probe import bot_username
    from salesbot.application.errors import ProbeFailed

    assert settings.BOT_TOKEN is not None
    try:
        username = await bot_username(
            http, settings.BOT_API_BASE_URL, settings.BOT_TOKEN.get_secret_value()
        )
    except ProbeFailed as error:
        return False, f"Bot API: {error}"
    return True, f"Bot API: the admin bot is {username}"


async def _model(http: Any, settings: Settings) -> Line:
    from salesbot.adapters.llm.probe import probe_model
    from salesbot.application.errors import ProbeFailed

    assert settings.OPENROUTER_API_KEY is not None
    models = [settings.OPENROUTER_MODEL, *settings.OPENROUTER_FALLBACK_MODELS]
    try:
        found = await probe_model(
            http,
            settings.OPENROUTER_BASE_URL,
            settings.OPENROUTER_API_KEY.get_secret_value(),
            models,
        )
    except ProbeFailed as error:
        return False, f"model: {error}"
    return True, f"model: {found}"


async def _database_and_accounts(
    settings: Settings, timeout: float, telegram: Any
) -> AsyncIterator[Line]:
    from dependency_injector import providers

    from salesbot.entrypoints.container import Container, shut_down
    from salesbot.entrypoints.database import (
        DatabaseNotStarted,
        describe_database,
        has_database,
        open_database,
    )

    database = describe_database(settings)
    if not has_database(settings):
        yield False, f"database: {database} is not set up yet: run `salesbot migrate`"
        return
    try:
        async with open_database(settings) as url:
            container = Container(
                settings=providers.Object(settings), database_url=providers.Object(url)
            )
            if telegram is not None:
                container.telegram.override(providers.Object(telegram))
            try:
                ready, line = await _database(container, database, timeout)
                yield ready, line
                if ready:
                    async for account_line in _accounts(container, settings, timeout):
                        yield account_line
            finally:
                await shut_down(container)
    except DatabaseNotStarted as error:
        yield False, f"database: the embedded PostgreSQL could not start: {error}"


async def _database(container: Any, database: str, timeout: float) -> Line:
    from salesbot.adapters.persistence.migrations import head_revision
    from salesbot.entrypoints.container import resolve

    head = head_revision()
    try:
        engine = await resolve(container.engine())
        current = await asyncio.wait_for(_revision(engine), timeout)
    except asyncio.TimeoutError:
        return False, f"database: {database} did not answer in {timeout:g} s"
    except Exception as error:  # one line at the command's edge, no traceback
        return False, f"database: {database} does not answer ({_reason(error)})"
    if current != head:
        state = "has no schema" if current is None else f"is at {current}"
        return False, f"database: {database} {state}, salesbot needs {head}: run `salesbot migrate`"
    return True, f"database: {database} answers, newest schema ({head})"


async def _revision(engine: Any) -> str | None:
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


async def _accounts(container: Any, settings: Settings, timeout: float) -> AsyncIterator[Line]:
    from salesbot.entrypoints.container import resolve

    secret = settings.SESSION_SECRET
    if not (secret and secret.get_secret_value()) and not (
        settings.DATA_DIR / "session_secret"
    ).exists():
        # Reading the accounts would generate the secret here, as whoever runs the check.
        yield True, (
            "accounts: none yet (no session secret: SESSION_SECRET is unset and DATA_DIR "
            "holds none)"
        )
        return
    try:
        check = await resolve(container.session_check(timeout=timeout))
        checked = await check.check_all()
    except Exception as error:  # a secret that cannot read the sessions, say
        yield False, f"accounts: cannot be read ({_reason(error)})"
        return
    if not checked:
        yield True, "accounts: none yet (add one with /add_account in the admin bot)"
        return
    for result in checked:
        name = f"account {result.account_id} ({result.phone})"
        detail = f" ({result.detail})" if result.detail else ""
        yield not result.verdict.failed, f"{name}: {VERDICTS[result.verdict]}{detail}"


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


VERDICTS = {
    SessionVerdict.ALIVE: "the session is alive",
    SessionVerdict.IN_USE: "in use by a running salesbot (not checked, so as not to cut it off)",
    SessionVerdict.DISABLED: "disabled by the operator (not checked)",
    SessionVerdict.NEEDS_LOGIN: "the session is no longer valid: add the account again with "
    "/add_account (or `salesbot account login`)",
    SessionVerdict.BANNED: "Telegram has banned or deactivated the account",
    SessionVerdict.UNREACHABLE: "Telegram cannot be reached for it",
}
