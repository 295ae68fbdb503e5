"""Failures the ports report, named for what they mean to the business.

Adapters translate their library's exceptions into these where they arise (FloodWait ->
RateLimited, HTTP 401 -> LlmRejected); use-cases decide what each means; entrypoints turn
them into replies and log lines.
"""

from __future__ import annotations


class PortError(Exception):
    """Base of every failure an outside system reports through a port."""


# --- Telegram user accounts -------------------------------------------------------------


class TelegramError(PortError):
    pass


class RateLimited(TelegramError):
    """Telegram asked this account to wait `retry_after` seconds (FloodWait)."""

    def __init__(self, retry_after: float, action: str = "") -> None:
        where = f" before {action}" if action else ""
        super().__init__(f"Telegram asks to wait {retry_after:.0f} s{where}")
        self.retry_after = retry_after
        self.action = action


class SpamLimited(TelegramError):
    """Telegram restricted the account for spam (PeerFlood): it must rest."""


class RecipientUnreachable(TelegramError):
    """The prospect cannot be written to: privacy settings, no such user, deleted account."""

    PRIVACY = "privacy"
    NOT_FOUND = "not_found"
    DEACTIVATED = "deactivated"
    INVALID = "invalid"
    BLOCKED = "blocked"

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"recipient unreachable: {reason}{f' ({detail})' if detail else ''}")
        self.reason = reason
        self.detail = detail


class SessionInvalid(TelegramError):
    """The account's session was revoked or its key unregistered: it is logged out."""


class AccountDeactivated(TelegramError):
    """Telegram deactivated or banned the account."""


class TelegramUnavailable(TelegramError):
    """The network or Telegram is down for now; the same call may work later."""


class CredentialsRejected(TelegramError):
    """Telegram refuses a credential of the configuration (BOT_TOKEN, API_ID/API_HASH):
    only a corrected env file helps, so the service stops instead of retrying."""

    def __init__(self, setting: str, detail: str) -> None:
        super().__init__(f"Telegram rejected {setting} ({detail}): correct it in the env file")
        self.setting = setting
        self.detail = detail


class AccountNotConnected(TelegramError):
    def __init__(self, account_id: int) -> None:
        super().__init__(f"account {account_id} is not connected")
        self.account_id = account_id


class MediaTooLarge(TelegramError):
    """A received file is bigger than what salesbot will fetch into memory."""


# --- login -------------------------------------------------------------------------------


class LoginError(PortError):
    """A login step failed; the admin may retry the same step."""


class PhoneNumberRejected(LoginError):
    pass


class PhoneBanned(LoginError):
    pass


class CodeInvalid(LoginError):
    pass


class CodeExpired(LoginError):
    pass


class PasswordInvalid(LoginError):
    pass


class NoLoginInProgress(LoginError):
    pass


class LoginRefused(LoginError):
    """Telegram will not log this number in through us now (too many codes asked, an e-mail
    must be set up in an official app first, no account on the number...): `reason` says."""

    def __init__(self, phone: str, reason: str) -> None:
        super().__init__(f"{phone}: {reason}")
        self.phone = phone
        self.reason = reason


# --- language model ----------------------------------------------------------------------


class LlmError(PortError):
    pass


class LlmUnavailable(LlmError):
    """The model could not answer now (timeouts, 429/5xx after retries, malformed answer).

    `retry_after` is the provider's own hint in seconds (Retry-After), when it gave one.
    """

    def __init__(self, message: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OpenerRefused(LlmUnavailable):
    """The model answered, but what it wrote for this opener failed the output guard twice
    (`ReplyRefused`): not an outage, a problem of this lead or of the script. `/start` tells
    it as the model not writing; the feeder skips the lead."""


class LlmRejected(LlmError):
    """The provider refuses our requests until a human acts: bad key, no credits, forbidden."""

    KEY = "key"
    CREDITS = "credits"
    FORBIDDEN = "forbidden"
    BAD_REQUEST = "bad_request"

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail


# --- transcription -----------------------------------------------------------------------


class TranscriptionFailed(PortError):
    """The transcription endpoint gave no words (down, refused, timed out, malformed)."""


# --- the CRM webhook ---------------------------------------------------------------------


class WebhookUndelivered(PortError):
    """The CRM's webhook did not take an event (no 2xx, a timeout, no connection); the
    message says which, never the URL or the secret."""


# --- persistence -------------------------------------------------------------------------


class PersistenceError(PortError):
    pass


class DuplicateAccount(PersistenceError):
    def __init__(self, phone: str) -> None:
        super().__init__(f"an account with phone {phone} exists already")
        self.phone = phone


class DialogAlreadyOpen(PersistenceError):
    """The prospect is already in an open dialog (the database's uniqueness says so)."""

    def __init__(self, username: str) -> None:
        super().__init__(f"@{username} is already in an open dialog")
        self.username = username


class DatabaseUnavailable(PersistenceError):
    """The database cannot be reached now (restart, network, busy): the unit of work is
    lost, the same work may succeed in a new one a moment later."""


class RecordNotFound(PersistenceError, LookupError):
    """An update or a new row named a row that does not exist: a bug in the caller."""


class SessionSecretMismatch(PersistenceError):
    """A stored session string cannot be decrypted with the configured SESSION_SECRET."""

    def __init__(self) -> None:
        super().__init__(
            "stored session strings cannot be decrypted: SESSION_SECRET differs from the one "
            "they were encrypted with"
        )


# --- refusals of the use-cases -----------------------------------------------------------


class UseCaseError(Exception):
    """A request the operator made that the use-case refuses, with the reason as its type."""


class AlreadyInDialog(UseCaseError):
    def __init__(self, username: str, dialog_id: int) -> None:
        super().__init__(f"@{username} is already in dialog {dialog_id}")
        self.username = username
        self.dialog_id = dialog_id


class OnDoNotContact(UseCaseError):
    def __init__(self, username: str) -> None:
        super().__init__(f"@{username} asked not to be contacted")
        self.username = username


class NotOnDoNotContact(UseCaseError):
    """Nothing on the do-not-contact list has this username or user id."""

    def __init__(self, username: str | None = None, user_id: int | None = None) -> None:
        super().__init__(f"{f'@{username}' if username else f'user {user_id}'} is not listed")
        self.username = username
        self.user_id = user_id


class NoAccountAvailable(UseCaseError):
    """No connected, active account may take a new dialog now."""


class UnknownAccount(UseCaseError):
    def __init__(self, phone: str) -> None:
        super().__init__(f"no account with phone {phone}")
        self.phone = phone


class AccountNeedsLogin(UseCaseError):
    """A logged-out account comes back only through a new login, not by enabling it."""

    def __init__(self, phone: str) -> None:
        super().__init__(f"account {phone} is logged out: log in again")
        self.phone = phone


class InvalidProxy(UseCaseError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid proxy: {reason}")
        self.reason = reason


class UnknownDialog(UseCaseError):
    def __init__(self, dialog_id: int) -> None:
        super().__init__(f"no dialog {dialog_id}")
        self.dialog_id = dialog_id


class UnknownCampaign(UseCaseError):
    def __init__(self, campaign_id: int) -> None:
        super().__init__(f"no campaign {campaign_id}")
        self.campaign_id = campaign_id


class DialogClosed(UseCaseError):
    """The dialog is stopped, finished, failed or opted out: nothing more is written in it."""

    def __init__(self, dialog_id: int, status: str) -> None:
        super().__init__(f"dialog {dialog_id} is {status}")
        self.dialog_id = dialog_id
        self.status = status


class DraftNotWaiting(UseCaseError):
    """The draft is no longer the admin's to decide: `state` is `approved` (it is on its
    way or sent), `superseded` (a newer message of the prospect replaced it, or the dialog
    was stopped or paused), `discarded`, or `unknown` (no such draft)."""

    def __init__(self, message_id: int, state: str) -> None:
        super().__init__(f"draft {message_id} is {state}")
        self.message_id = message_id
        self.state = state


class DraftHeld(UseCaseError):
    """The draft's dialog may not send it now (e.g. paused by hand, or closed): it stays a
    draft, nothing is sent."""

    def __init__(self, dialog_id: int, status: str) -> None:
        super().__init__(f"dialog {dialog_id} is {status}: the draft was not sent")
        self.dialog_id = dialog_id
        self.status = status


class DraftNotRewritten(UseCaseError):
    """Regenerate gave nothing that may go (the guard refused it twice, or the model wrote
    nothing): the old draft stays as it was."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- `salesbot check --online` -----------------------------------------------------------


class ProbeFailed(PortError):
    """An outside system asked once (`check --online`) did not give what salesbot needs;
    the message is one line for the operator, naming what to fix and never a secret."""
