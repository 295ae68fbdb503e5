"""Logging a Telegram account in as steps, without console prompts.

One kurigram Client per phone is kept across the steps (Telegram ties the code to the
connection that asked for it). A failed step leaves the login where it was, so the admin
retries that step; only success, `cancel_login` or a new `begin_login` ends it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyrogram import Client, enums, types
from pyrogram import errors as tg

from salesbot.adapters.logging import secret_mask
from salesbot.adapters.telegram.accounts import ClientFactory
from salesbot.adapters.telegram.errors import connect_or_unreachable, translate
from salesbot.adapters.telegram.proxy import proxy_dict
from salesbot.application.errors import (
    CodeExpired,
    CodeInvalid,
    LoginRefused,
    NoLoginInProgress,
    PasswordInvalid,
    PhoneBanned,
    PhoneNumberRejected,
    TelegramError,
)
from salesbot.application.ports import LoginProgress

log = logging.getLogger(__name__)

LOGIN_TTL_SECONDS = 30 * 60


@dataclass
class _Login:
    client: Any
    phone_code_hash: str
    started: float
    password_required: bool = False


class PyrogramLogin:
    def __init__(
        self,
        api_id: int,
        api_hash: str,
        *,
        client_factory: ClientFactory = Client,
        monotonic: Callable[[], float] = time.monotonic,
        client_options: dict[str, Any] | None = None,
    ) -> None:
        self._api_id = api_id
        self._api_hash = api_hash
        self._factory = client_factory
        self._monotonic = monotonic
        self._options = client_options or {}
        self._logins: dict[str, _Login] = {}

    async def begin_login(self, phone: str, *, proxy: str | None = None) -> None:
        """Ask Telegram to send the login code; a login already running for `phone` ends."""
        await self._drop_stale()
        await self.cancel_login(phone)
        try:
            proxy_config = proxy_dict(proxy) if proxy else None
        except ValueError as exc:
            raise LoginRefused(phone, str(exc)) from None
        if proxy_config and "password" in proxy_config:
            secret_mask.add(proxy_config["password"])
        client = self._factory(
            name=f"salesbot-login-{re.sub(r'[^0-9]', '', phone)}",
            api_id=self._api_id,
            api_hash=self._api_hash,
            in_memory=True,
            proxy=proxy_config,
            no_updates=True,
            **self._options,
        )
        try:
            await connect_or_unreachable(client, proxy_config)
            sent = await client.send_code(phone)
        except BaseException as exc:
            await _disconnect_quietly(client)
            if isinstance(exc, Exception):
                raise _login_error(phone, exc, "send_code") from exc
            raise
        if sent.type is enums.SentCodeType.SETUP_EMAIL_REQUIRED:
            await _disconnect_quietly(client)
            raise LoginRefused(
                phone,
                "Telegram asks this number to set up a login e-mail first: log in once in an "
                "official Telegram app, add the e-mail there, then try again",
            )
        self._logins[phone] = _Login(client, sent.phone_code_hash, self._monotonic())
        log.info("login %s: Telegram sent the code (%s)", _masked(phone), _code_type(sent))

    async def submit_code(self, phone: str, code: str) -> LoginProgress:
        """Accept the code with any separators typed into it (`1 2 3 4 5`, `12-345`)."""
        login = self._login(phone)
        if login.password_required:
            return LoginProgress(password_required=True)
        digits = re.sub(r"\D", "", code)
        if not digits:
            raise CodeInvalid(f"{phone}: the code has no digits")
        try:
            user = await login.client.sign_in(phone, login.phone_code_hash, digits)
        except tg.SessionPasswordNeeded:
            login.password_required = True
            log.info("login %s: the account has a 2FA password", _masked(phone))
            return LoginProgress(password_required=True)
        except tg.PhoneCodeExpired as exc:
            raise await self._resend_after_expiry(phone, login) from exc
        except Exception as exc:
            raise _login_error(phone, exc, "sign_in") from exc
        if user is False or isinstance(user, types.TermsOfService):
            await self.cancel_login(phone)
            raise PhoneNumberRejected(
                f"{phone}: no Telegram account uses this number; sign it up in a Telegram app"
            )
        return await self._finish(phone, login)

    async def submit_password(self, phone: str, password: str) -> LoginProgress:
        login = self._login(phone)
        if not login.password_required:
            raise NoLoginInProgress(f"{phone}: no password was asked for; send the code first")
        secret_mask.add(password)
        try:
            await login.client.check_password(password)
        except Exception as exc:
            raise _login_error(phone, exc, "check_password") from exc
        return await self._finish(phone, login)

    async def cancel_login(self, phone: str) -> None:
        login = self._logins.pop(phone, None)
        if login is not None:
            await _disconnect_quietly(login.client)

    async def close(self) -> None:
        for phone in list(self._logins):
            await self.cancel_login(phone)

    # --- helpers -------------------------------------------------------------------------

    def _login(self, phone: str) -> _Login:
        login = self._logins.get(phone)
        if login is None:
            raise NoLoginInProgress(f"{phone}: no login in progress; start it again")
        return login

    async def _finish(self, phone: str, login: _Login) -> LoginProgress:
        # Exported before disconnecting: the in-memory storage is gone afterwards.
        session_string = await login.client.export_session_string()
        secret_mask.add(session_string)
        self._logins.pop(phone, None)
        await _disconnect_quietly(login.client)
        log.info("login %s: done", _masked(phone))
        return LoginProgress(session_string=session_string)

    async def _resend_after_expiry(self, phone: str, login: _Login) -> Exception:
        """An expired code: ask for a fresh one at once, so the admin retries just the code."""
        try:
            sent = await login.client.send_code(phone)
        except Exception as exc:
            await self.cancel_login(phone)
            log.warning("login %s: resending an expired code failed: %s", _masked(phone), exc)
            return CodeExpired(f"{phone}: the code expired; start the login again")
        login.phone_code_hash = sent.phone_code_hash
        login.started = self._monotonic()
        return CodeExpired(f"{phone}: the code expired; Telegram sent a new one")

    async def _drop_stale(self) -> None:
        now = self._monotonic()
        for phone, login in list(self._logins.items()):
            if now - login.started > LOGIN_TTL_SECONDS:
                log.info("login %s: abandoned, closing it", _masked(phone))
                await self.cancel_login(phone)


def _login_error(phone: str, exc: Exception, action: str) -> Exception:
    """A clear LoginError (or RateLimited / TelegramUnavailable) for a failed step."""
    if isinstance(exc, (tg.PhoneNumberInvalid, tg.PhoneNumberUnoccupied)):
        return PhoneNumberRejected(f"{phone}: Telegram rejects this phone number")
    if isinstance(exc, tg.PhoneNumberBanned):
        return PhoneBanned(f"{phone}: Telegram banned this phone number")
    if isinstance(exc, (tg.PhoneCodeInvalid, tg.PhoneCodeEmpty)):
        return CodeInvalid(f"{phone}: the code is wrong; type it again")
    if isinstance(exc, tg.PhoneCodeExpired):
        return CodeExpired(f"{phone}: the code expired; start the login again")
    if isinstance(exc, (tg.PasswordHashInvalid, tg.PasswordEmpty)):
        return PasswordInvalid(f"{phone}: the 2FA password is wrong; type it again")
    if isinstance(exc, tg.PhoneNumberFlood):
        return LoginRefused(phone, "Telegram refuses to send more codes to this number for now")
    if isinstance(exc, tg.PhonePasswordFlood):
        return LoginRefused(phone, "too many password attempts; Telegram blocks them for now")
    error = translate(exc, action)
    if error is None:
        return exc
    if type(error) is TelegramError:
        return LoginRefused(phone, str(exc))
    return error


async def _disconnect_quietly(client: Any) -> None:
    try:
        if getattr(client, "is_connected", False):
            await client.disconnect()
    except Exception as exc:
        log.debug("closing a login client failed: %s", exc)


def _masked(phone: str) -> str:
    """`+79001234567` -> `+7900***67`: enough to tell logins apart in a log."""
    return phone[:5] + "***" + phone[-2:] if len(phone) > 8 else "***"


def _code_type(sent: Any) -> str:
    kind = getattr(sent, "type", None)
    return getattr(kind, "name", str(kind)).lower()
