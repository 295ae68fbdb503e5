"""`salesbot account login|import|list`: Telegram accounts from a terminal.

`login` asks for the code Telegram sends (type it any way: `1 2 3 4 5` works) and, when
the account has one, for the 2FA password without echoing it. `import` takes a session
string made elsewhere (asked for without echo when `--session-string` is left out, so it
stays out of the shell's history). A running `salesbot run` starts an account added here
within a minute (its pool looks for new accounts).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TextIO

from salesbot.entrypoints import event_loop
from salesbot.entrypoints.commands import report_config_error, start_logging, with_database
from salesbot.entrypoints.settings import TELEGRAM_REQUIRED, ConfigError, Settings, load_settings

Ask = Callable[[str], Awaitable[str]]

MAX_TRIES = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    login = actions.add_parser(
        "login",
        help="log a Telegram account in: asks for the code and the 2FA password",
        description="Log a Telegram account in (a new number or a logged-out account).",
    )
    login.add_argument("--phone", required=True, help="the account's number, e.g. +79001234567")
    login.add_argument("--proxy", help="optional proxy: socks5://user:password@host:port")
    imported = actions.add_parser(
        "import",
        help="add an account from a Pyrogram session string made elsewhere",
        description="Add an account from a Pyrogram session string made elsewhere.",
    )
    imported.add_argument("--phone", required=True, help="the account's number")
    imported.add_argument(
        "--session-string", help="the session string (asked for without echo when left out)"
    )
    imported.add_argument("--proxy", help="optional proxy: socks5://user:password@host:port")
    actions.add_parser(
        "list",
        help="the accounts with their status, today's sends and limit, and dialogs",
        description="List the accounts.",
    )


def main(args: argparse.Namespace) -> int:
    required = TELEGRAM_REQUIRED if args.action == "login" else ()
    try:
        settings = load_settings(required, env_file=args.env_file)
    except ConfigError as error:
        return report_config_error(error)

    # The terminal shows this command's own lines; the log keeps warnings and worse
    # unless LOG_LEVEL asks for debugging.
    level = settings.LOG_LEVEL if settings.LOG_LEVEL in ("TRACE", "DEBUG") else "WARNING"
    refused = start_logging(level, settings.LOG_FILE, settings.secret_values())
    if refused is not None:
        return refused
    if level == "WARNING":  # kurigram warns of each failed connection try: one line says it
        logging.getLogger("pyrogram").setLevel(logging.ERROR)
    try:
        return event_loop.run(run(args, settings))
    except (KeyboardInterrupt, EOFError):
        print("\nStopped.", file=sys.stderr)
        return 130


async def run(
    args: argparse.Namespace,
    settings: Settings,
    *,
    container: Any = None,
    ask: Ask | None = None,
    ask_secret: Ask | None = None,
    out: TextIO | None = None,
) -> int:
    """The command with its dependencies; tests pass a container with fakes and scripted
    answers in place of the terminal."""
    shown = out or sys.stdout
    if container is not None:
        return await _run(args, settings, container, ask, ask_secret, shown)
    return await with_database(
        settings, lambda opened: _run(args, settings, opened, ask, ask_secret, shown)
    )


async def _run(
    args: argparse.Namespace,
    settings: Settings,
    container: Any,
    ask: Ask | None,
    ask_secret: Ask | None,
    out: TextIO,
) -> int:
    from dependency_injector import providers

    from salesbot.entrypoints.container import resolve, shut_down

    if args.action != "login":  # no Telegram connection needed, nor API_ID/API_HASH
        container.telegram_login.override(providers.Object(_NoLogin()))
    try:
        service = await resolve(container.offline_accounts())
        if args.action in ("login", "import"):
            from salesbot.domain.errors import InvalidPhone
            from salesbot.domain.phone import normalize_phone

            try:
                args.phone = normalize_phone(args.phone)
            except InvalidPhone as error:
                print(f"Refused: {error}", file=out)
                return 2
        if args.action == "login":
            return await login_interactively(
                service, args.phone, args.proxy, ask or _ask, ask_secret or _ask_secret, out
            )
        if args.action == "import":
            return await import_session(
                service,
                args.phone,
                args.session_string,
                args.proxy,
                ask_secret or _ask_secret,
                out,
            )
        return await list_accounts(service, settings, out)
    finally:
        await shut_down(container)


async def login_interactively(
    service: Any, phone: str, proxy: str | None, ask: Ask, ask_secret: Ask, out: TextIO
) -> int:
    from salesbot.application.errors import (
        CodeExpired,
        CodeInvalid,
        PasswordInvalid,
        TelegramUnavailable,
    )

    try:
        await service.begin_login(phone, proxy)
        print(
            f"Telegram sent a login code for {phone} (to the Telegram app, or by SMS). "
            "Type it as you like: 1 2 3 4 5 works.",
            file=out,
        )
        result = await _repeat(
            ask, "Code: ", lambda code: service.submit_code(phone, code),
            (CodeInvalid, CodeExpired, TelegramUnavailable), out,
        )
        if result is not None and result.password_required:
            result = await _repeat(
                ask_secret, "Two-step verification password: ",
                lambda password: service.submit_password(phone, password),
                (PasswordInvalid, TelegramUnavailable), out, secret=True,
            )
    except Exception as error:
        if _refusal(error) is None:
            raise
        print(_refusal(error), file=out)
        await service.cancel_login(phone)
        return 1
    if result is None or result.account_id is None:
        await service.cancel_login(phone)
        print("Too many tries; start the login again.", file=out)
        return 1
    print(
        f"Account {result.account_id} ({phone}) is logged in and active. "
        "A running `salesbot run` starts it within a minute.",
        file=out,
    )
    return 0


async def _repeat(
    ask: Ask,
    prompt: str,
    submit: Callable[[str], Awaitable[Any]],
    retry_on: tuple[type[Exception], ...],
    out: TextIO,
    *,
    secret: bool = False,
) -> Any:
    """Ask and submit until accepted (a refusal in `retry_on` asks again), at most
    MAX_TRIES times; None when every try was refused."""
    from salesbot.adapters.logging import secret_mask

    for _ in range(MAX_TRIES):
        answer = await ask(prompt)
        if secret:
            secret_mask.add(answer)
        try:
            return await submit(answer)
        except retry_on as error:
            print(_refusal(error), file=out)
    return None


async def import_session(
    service: Any,
    phone: str,
    session_string: str | None,
    proxy: str | None,
    ask_secret: Ask,
    out: TextIO,
) -> int:
    from salesbot.adapters.logging import secret_mask
    from salesbot.adapters.telegram import check_session_string

    if not session_string:
        session_string = await ask_secret("Session string: ")
    session_string = session_string.strip()
    secret_mask.add(session_string)
    try:
        check_session_string(session_string)
    except ValueError as error:
        print(f"Refused: {error} (only Pyrogram/kurigram session strings work).", file=out)
        return 2
    try:
        account_id = await service.import_session(phone, session_string, proxy)
    except Exception as error:
        message = _refusal(error)
        if message is None:
            raise
        print(message, file=out)
        return 1
    print(
        f"Account {account_id} ({phone}) is stored and active. "
        "A running `salesbot run` starts it within a minute.",
        file=out,
    )
    return 0


async def list_accounts(service: Any, settings: Settings, out: TextIO) -> int:
    summaries = await service.list_accounts()
    if not summaries:
        print("No accounts yet: add one with `salesbot account login --phone +7...`.", file=out)
        return 0
    zone = settings.zone
    rows = [("ID", "PHONE", "STATUS", "TODAY", "NEXT FREE", "DIALOGS", "PROXY")]
    for s in summaries:
        moment = s.next_free_at or s.limited_until
        rows.append(
            (
                str(s.id),
                s.phone,
                s.status.value,
                f"{s.sent_today}/{s.daily_limit}",
                moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else "-",
                str(s.active_dialogs),
                "yes" if s.proxy_set else "no",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip(), file=out)
    print(f"Times in {settings.TIMEZONE}.", file=out)
    return 0


# --- helpers -----------------------------------------------------------------------------


def _refusal(error: Exception) -> str | None:
    """The line an operator reads for an expected failure; None for a bug."""
    from salesbot.application.errors import (
        DuplicateAccount,
        InvalidProxy,
        LoginError,
        RateLimited,
        TelegramUnavailable,
    )
    from salesbot.domain.errors import InvalidPhone

    if isinstance(error, RateLimited):
        return f"Telegram asks to wait {error.retry_after:.0f} s; try again after that."
    if isinstance(error, TelegramUnavailable):
        return (
            f"Telegram cannot be reached now: {error}; check the network (or the proxy) "
            "and try again."
        )
    if isinstance(error, DuplicateAccount):
        return (
            f"An account with phone {error.phone} exists already "
            "(only a logged-out account may log in again)."
        )
    if isinstance(error, (InvalidPhone, InvalidProxy, LoginError, ValueError)):
        return f"Refused: {error}"
    return None


class _NoLogin:
    """`import` and `list` never talk to Telegram's login."""

    async def begin_login(self, phone: str, *, proxy: str | None = None) -> None:
        raise AssertionError("no login here")

    async def submit_code(self, phone: str, code: str) -> Any:
        raise AssertionError("no login here")

    async def submit_password(self, phone: str, password: str) -> Any:
        raise AssertionError("no login here")

    async def cancel_login(self, phone: str) -> None:
        return None


async def _ask(prompt: str) -> str:
    return await asyncio.to_thread(input, prompt)


async def _ask_secret(prompt: str) -> str:
    return await asyncio.to_thread(getpass.getpass, prompt)
