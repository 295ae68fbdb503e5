"""kurigram's exceptions translated into the port's errors, where they arise.

Concrete classes are caught (kurigram's codes differ from old Pyrogram's in places), so a
renamed error fails loudly in the tests instead of being mapped to the wrong outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pyrogram import errors as tg

from salesbot.application.errors import (
    AccountDeactivated,
    CredentialsRejected,
    RateLimited,
    RecipientUnreachable,
    SessionInvalid,
    SpamLimited,
    TelegramError,
    TelegramUnavailable,
)

_UNREACHABLE: tuple[tuple[type[Exception], str], ...] = (
    (tg.UserPrivacyRestricted, RecipientUnreachable.PRIVACY),
    (tg.PrivacyPremiumRequired, RecipientUnreachable.PRIVACY),
    (tg.UsernameNotOccupied, RecipientUnreachable.NOT_FOUND),
    (tg.UsernameInvalid, RecipientUnreachable.INVALID),
    (tg.PeerIdInvalid, RecipientUnreachable.INVALID),
    (tg.UserIdInvalid, RecipientUnreachable.INVALID),
    (tg.InputUserDeactivated, RecipientUnreachable.DEACTIVATED),
    (tg.UserIsBlocked, RecipientUnreachable.BLOCKED),
    (tg.YouBlockedUser, RecipientUnreachable.BLOCKED),
)
_SESSION_GONE = (
    tg.AuthKeyUnregistered,
    tg.SessionRevoked,
    tg.AuthKeyDuplicated,
    tg.AuthKeyInvalid,
    tg.SessionExpired,
)
_DEACTIVATED = (tg.UserDeactivated, tg.UserDeactivatedBan)
_NETWORK = (OSError, asyncio.TimeoutError, tg.InternalServerError, tg.ServiceUnavailable)


def _code(exc: BaseException) -> str:
    """Telegram's name of the error (PRIVACY_RESTRICTED, ...), else the class's."""
    return str(getattr(exc, "ID", None) or type(exc).__name__)


def flood_seconds(exc: tg.RPCError) -> float:
    value = exc.value
    return float(value) if isinstance(value, (int, float)) else 0.0


def translate(exc: BaseException, action: str = "") -> TelegramError | None:
    """The port error `exc` means, or None when it is not Telegram's to explain."""
    if isinstance(exc, TelegramError):
        return exc
    if isinstance(exc, (tg.ApiIdInvalid, tg.ApiIdPublishedFlood)):
        return CredentialsRejected("API_ID/API_HASH", f"{_code(exc)} at {action or 'connect'}")
    if isinstance(exc, (tg.FloodWait, tg.FloodPremiumWait, tg.SlowmodeWait)):
        return RateLimited(flood_seconds(exc), action)
    if isinstance(exc, tg.PeerFlood):
        return SpamLimited(f"Telegram limited the account for spam (PEER_FLOOD) at {action}")
    for kind, reason in _UNREACHABLE:
        if isinstance(exc, kind):
            return RecipientUnreachable(reason, _code(exc))
    if isinstance(exc, _SESSION_GONE):
        return SessionInvalid(f"{_code(exc)}: the session is no longer valid")
    if isinstance(exc, _DEACTIVATED):
        return AccountDeactivated(f"{_code(exc)}: Telegram deactivated the account")
    if isinstance(exc, _NETWORK):
        return TelegramUnavailable(f"{action}: {type(exc).__name__}: {exc}")
    if isinstance(exc, tg.RPCError):
        return TelegramError(f"{action}: {exc}")
    return None


@contextmanager
def translated(action: str) -> Iterator[None]:
    """Re-raise Telegram's and the network's exceptions as the port's errors."""
    try:
        yield
    except Exception as exc:
        error = translate(exc, action)
        if error is None or error is exc:
            raise
        raise error from exc


async def connect_or_unreachable(
    client: Any, proxy: dict[str, Any] | None, *, start: bool = False
) -> None:
    """`client.connect()` (or `start()`); TelegramUnavailable naming the data centre (or
    the proxy) when it cannot be reached. With no route kurigram raises ConnectionError;
    when something takes the connection but closes it unanswered (a blocked network, a
    dead proxy) its key exchange reads nothing and, after five tries, raises `KeyError: 0`
    — both are the network. Telegram's own answers (API_ID_INVALID, a dead session, a
    flood wait) pass through for `translate`."""
    try:
        await (client.start() if start else client.connect())
    except (tg.RPCError, TelegramError):
        raise
    except (OSError, asyncio.TimeoutError, KeyError, asyncio.IncompleteReadError) as exc:
        where = await _address(client, proxy)
        detail = "closed without an answer" if isinstance(exc, KeyError) else _describe(exc)
        raise TelegramUnavailable(f"cannot reach {where} ({detail})") from exc


async def _address(client: Any, proxy: dict[str, Any] | None) -> str:
    if proxy:
        return f"the proxy {proxy.get('hostname')}:{proxy.get('port')}"
    try:
        host, port = await client.storage.server_address(), await client.storage.port()
    except Exception:  # a storage that never opened, or keeps no address
        return "Telegram"
    return f"Telegram's data centre at {host}:{port}" if host else "Telegram"


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
