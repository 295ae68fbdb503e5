"""/add_account (a conversation: code, then the 2FA password if asked), /list_accounts,
/check_account (asks @SpamBot), /disable_account, /enable_account."""

from __future__ import annotations

import logging
import re
from typing import Any, Protocol
from urllib.parse import unquote

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from salesbot.adapters.admin_bot.catalogue import Texts
from salesbot.adapters.admin_bot.formatting import Formatter
from salesbot.adapters.admin_bot.handlers.common import (
    BadInput,
    Context,
    answers_bad_input,
    command_tail,
    delete_secret,
    reply,
)
from salesbot.adapters.logging import secret_mask
from salesbot.application.errors import (
    AccountNeedsLogin,
    AccountNotConnected,
    CodeExpired,
    CodeInvalid,
    DuplicateAccount,
    InvalidProxy,
    LoginError,
    NoLoginInProgress,
    PasswordInvalid,
    PhoneBanned,
    PhoneNumberRejected,
    RateLimited,
    TelegramError,
    TelegramUnavailable,
    UnknownAccount,
)
from salesbot.application.ports import Clock
from salesbot.domain.errors import IllegalTransition, InvalidPhone
from salesbot.domain.phone import normalize_phone

log = logging.getLogger(__name__)

CODE, PASSWORD = range(2)
_PHONE_KEY = "login_phone"


class AccountManager(Protocol):
    """`AccountService` of application/accounts.py, as far as the bot uses it."""

    async def begin_login(self, phone: str, proxy: str | None = None) -> Any: ...

    async def submit_code(self, phone: str, code: str) -> Any: ...

    async def submit_password(self, phone: str, password: str) -> Any: ...

    async def cancel_login(self, phone: str) -> Any: ...

    async def disable(self, phone: str) -> Any: ...

    async def enable(self, phone: str) -> Any: ...

    async def list_accounts(self) -> list[Any]: ...


class AccountChecker(Protocol):
    """`AccountCheck` of application/accounts/check_account.py."""

    async def check(self, phone: str) -> Any: ...


def _is_proxy(word: str) -> bool:
    return "://" in word or "@" in word


def split_phone_and_proxy(tail: str, t: Texts) -> tuple[str, str | None]:
    """`+7 900 123-45-67 socks5://u:p@host:1080` -> ("+79001234567", "socks5://...").
    The phone may contain spaces; the proxy is the word holding `://` (or credentials,
    `user:pass@host:port` without a scheme, which is then refused as a proxy)."""
    if not tail:
        raise BadInput(t("add_account_missing"))
    words = tail.split()
    at = next((i for i, w in enumerate(words) if _is_proxy(w)), None)
    phone_words = words if at is None else words[:at]
    proxy = None if at is None else words[at]
    if at is not None and words[at + 1 :]:
        extra = " ".join(_redacted_proxy(w) if _is_proxy(w) else w for w in words[at + 1 :])
        raise BadInput(t("add_account_extra", extra=extra))
    raw_phone = " ".join(phone_words)
    if not raw_phone:
        raise BadInput(t("add_account_missing"))
    return _phone(raw_phone, t), proxy


def _credentials(proxy: str) -> str:
    """`socks5://user:pass@host:1080` -> `user:pass` ("" when it holds none)."""
    rest = proxy.split("://", 1)[-1]
    return rest.rsplit("@", 1)[0] if "@" in rest else ""


def _hide_proxy_credentials(proxy: str) -> None:
    """Mask the proxy's credentials and password in every log line and chat text from now
    on, as typed and percent-decoded (the form the Telegram adapter hands its library). The
    rest (scheme, host, port) is no secret: the admin is shown it back, e.g. in an error."""
    credentials = _credentials(proxy)
    if not credentials:
        return
    password = credentials.split(":", 1)[-1]
    secret_mask.add(credentials, password, unquote(password))


def _redacted_proxy(proxy: str) -> str:
    """The proxy as it may be shown: `socks5://***@host:1080`."""
    credentials = _credentials(proxy)
    return proxy.replace(credentials + "@", "***@", 1) if credentials else proxy


def _holds_proxy_credentials(tail: str) -> bool:
    """Whether an /add_account line carries a proxy login or password."""
    return any(_is_proxy(word) and _credentials(word) for word in tail.split())


def _phone(raw: str, t: Texts) -> str:
    try:
        return normalize_phone(raw)
    except InvalidPhone as error:
        raise BadInput(t("invalid_phone", raw=raw, reason=t.reason(error.reason))) from error


def explain_login_error(
    error: Exception, t: Texts, phone: str, proxy: str | None = None
) -> str | None:
    if isinstance(error, PhoneNumberRejected):
        return t("phone_rejected", phone=phone)
    if isinstance(error, PhoneBanned):
        return t("phone_banned", phone=phone)
    if isinstance(error, CodeInvalid):
        return t("code_invalid")
    if isinstance(error, CodeExpired):
        return t("code_expired", phone=phone)
    if isinstance(error, PasswordInvalid):
        return t("password_invalid")
    if isinstance(error, NoLoginInProgress):
        return t("no_login", phone=phone)
    if isinstance(error, DuplicateAccount):
        return t("duplicate_account", phone=phone)
    if isinstance(error, InvalidPhone):
        return t("invalid_phone", raw=error.raw, reason=t.reason(error.reason))
    if isinstance(error, InvalidProxy):
        return t("invalid_proxy", raw=_redacted_proxy(proxy or ""))
    if isinstance(error, RateLimited):
        return t("rate_limited", seconds=f"{error.retry_after:.0f}")
    if isinstance(error, TelegramUnavailable):
        return t("telegram_unavailable", detail=str(error))
    if isinstance(error, LoginError):
        return t("login_failed", phone=phone, detail=str(error) or type(error).__name__)
    return None


# Errors after which the same step may simply be tried again.
_RETRY_STEP = (CodeInvalid, PasswordInvalid, RateLimited, TelegramUnavailable)


class AccountCommands:
    def __init__(
        self,
        texts: Texts,
        formatter: Formatter,
        accounts: AccountManager,
        clock: Clock,
        checks: AccountChecker,
    ) -> None:
        self.t = texts
        self.f = formatter
        self._accounts = accounts
        self._clock = clock
        self._checks = checks

    # --- the login conversation ------------------------------------------------------------

    def conversation(self, admin: filters.BaseFilter) -> BaseHandler[Update, Context, Any]:
        text = admin & filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND
        return ConversationHandler(
            entry_points=[CommandHandler("add_account", self.begin, filters=admin)],
            states={
                CODE: [MessageHandler(text, self.code)],
                PASSWORD: [MessageHandler(text, self.password)],
            },
            fallbacks=[CommandHandler("cancel", self.cancel, filters=admin)],
            allow_reentry=True,
            name="add_account",
        )

    async def _fail(
        self,
        update: Update,
        context: Context,
        error: Exception,
        phone: str,
        proxy: str | None = None,
    ) -> int | None:
        """Answer a failed login step: None keeps the step when retrying it makes sense,
        otherwise the conversation ends."""
        answer = explain_login_error(error, self.t, phone, proxy)
        if answer is None:
            raise error
        await reply(update, context, answer)
        if isinstance(error, _RETRY_STEP):
            return None
        await self._forget(context)
        return ConversationHandler.END

    async def _forget(self, context: Context) -> None:
        if context.user_data is not None:
            context.user_data.pop(_PHONE_KEY, None)

    @answers_bad_input
    async def begin(self, update: Update, context: Context) -> int | None:
        """/add_account <phone> [proxy]: Telegram sends a login code. A message holding a
        proxy password is deleted as soon as it is read, like the 2FA password's."""
        assert update.message is not None and context.user_data is not None
        tail = command_tail(update.message)
        for word in tail.split():
            if _is_proxy(word):
                _hide_proxy_credentials(word)
        if _holds_proxy_credentials(tail):
            await delete_secret(update.message, "a proxy password")
        phone, proxy = split_phone_and_proxy(tail, self.t)
        previous = context.user_data.pop(_PHONE_KEY, None)
        if previous is not None:
            await self._accounts.cancel_login(previous)
        try:
            await self._accounts.begin_login(phone, proxy=proxy)
        except Exception as error:
            await self._fail(update, context, error, phone, proxy)
            return ConversationHandler.END
        context.user_data[_PHONE_KEY] = phone
        await reply(update, context, self.t("code_sent", phone=phone))
        return CODE

    async def code(self, update: Update, context: Context) -> int | None:
        """The login code, typed with spaces."""
        assert update.message is not None and context.user_data is not None
        phone = context.user_data.get(_PHONE_KEY)
        if phone is None:
            return ConversationHandler.END
        text = update.message.text or ""
        if not re.search(r"\d", text):
            await reply(update, context, self.t("code_no_digits"))
            return None
        try:
            result = await self._accounts.submit_code(phone, text)
        except Exception as error:
            return await self._fail(update, context, error, phone)
        if result.password_required:
            await reply(update, context, self.t("password_needed"))
            return PASSWORD
        return await self._added(update, context, phone, result)

    async def password(self, update: Update, context: Context) -> int | None:
        """The 2FA password: its message is deleted as soon as it is read."""
        assert update.message is not None and context.user_data is not None
        phone = context.user_data.get(_PHONE_KEY)
        if phone is None:
            return ConversationHandler.END
        password = update.message.text or ""
        secret_mask.add(password)
        await delete_secret(update.message, "a 2FA password")
        try:
            result = await self._accounts.submit_password(phone, password)
        except Exception as error:
            return await self._fail(update, context, error, phone)
        return await self._added(update, context, phone, result)

    async def _added(self, update: Update, context: Context, phone: str, result: Any) -> int:
        await self._forget(context)
        account_id = getattr(result, "account_id", None)
        await reply(
            update,
            context,
            self.t("account_added", phone=phone, account_id=account_id or "?"),
        )
        return ConversationHandler.END

    async def cancel(self, update: Update, context: Context) -> int:
        """/cancel inside the login: Telegram forgets the half-done login."""
        assert context.user_data is not None
        phone = context.user_data.pop(_PHONE_KEY, None)
        if phone is None:
            await reply(update, context, self.t("nothing_to_cancel"))
        else:
            await self._accounts.cancel_login(phone)
            await reply(update, context, self.t("login_cancelled", phone=phone))
        return ConversationHandler.END

    # --- plain commands --------------------------------------------------------------------

    async def list_accounts(self, update: Update, context: Context) -> None:
        """/list_accounts: status, sent today of the quota, next free slot, active dialogs."""
        summaries = await self._accounts.list_accounts()
        await reply(update, context, self.f.accounts(summaries, self._clock.now()))

    @answers_bad_input
    async def check(self, update: Update, context: Context) -> None:
        """/check_account <phone>: @SpamBot's answer to the account, in plain words."""
        phone = self._phone_argument(update, "check_account")
        try:
            checked = await self._checks.check(phone)
        except UnknownAccount as error:
            raise BadInput(self.t("unknown_account", phone=phone)) from error
        except AccountNotConnected as error:
            raise BadInput(self.t("check_not_connected", phone=phone)) from error
        except RateLimited as error:
            raise BadInput(self.t("rate_limited", seconds=f"{error.retry_after:.0f}")) from error
        except TelegramError as error:
            raise BadInput(self.t("check_no_answer", phone=phone, detail=str(error))) from error
        await reply(update, context, self.f.account_check(checked.phone, checked.answer))

    def _phone_argument(self, update: Update, command: str) -> str:
        assert update.message is not None
        raw = command_tail(update.message)
        if not raw:
            usage = self.t.command_usage(command)
            raise BadInput(self.t("phone_missing", usage=usage, example=f"/{command} +79001234567"))
        return _phone(raw, self.t)

    async def _switch(self, update: Update, context: Context, command: str, action: str) -> None:
        phone = self._phone_argument(update, command)
        try:
            if action == "disable":
                await self._accounts.disable(phone)
            else:
                await self._accounts.enable(phone)
        except UnknownAccount as error:
            raise BadInput(self.t("unknown_account", phone=phone)) from error
        except AccountNeedsLogin as error:
            raise BadInput(self.t("account_needs_login", phone=phone)) from error
        except IllegalTransition as error:
            status = self.t.word("account_status", error.current)
            action_word = self.t.word("action", action)
            raise BadInput(
                self.t("account_cannot", phone=phone, status=status, action=action_word)
            ) from error
        key = "account_disabled" if action == "disable" else "account_enabled"
        await reply(update, context, self.t(key, phone=phone))

    @answers_bad_input
    async def disable(self, update: Update, context: Context) -> None:
        """/disable_account <phone>: the account stops writing."""
        await self._switch(update, context, "disable_account", "disable")

    @answers_bad_input
    async def enable(self, update: Update, context: Context) -> None:
        """/enable_account <phone>: the account writes again."""
        await self._switch(update, context, "enable_account", "enable")

