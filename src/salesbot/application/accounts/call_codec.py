"""How an account call's answer and error cross between processes: plain JSON values.

An error keeps its type and its fields (a RecipientUnreachable its reason, a RateLimited
its wait), so the caller handles a remote call's failure exactly as a local one's. Only
the Telegram family crosses as itself; anything else the owner met is, to the caller, a
TelegramUnavailable with its message (the call may work later).
"""

from __future__ import annotations

from salesbot.application.errors import (
    AccountDeactivated,
    AccountNotConnected,
    RateLimited,
    RecipientUnreachable,
    SessionInvalid,
    SpamLimited,
    TelegramError,
    TelegramUnavailable,
)
from salesbot.domain.peer import Peer

_PLAIN: dict[str, type[TelegramError]] = {
    "SessionInvalid": SessionInvalid,
    "AccountDeactivated": AccountDeactivated,
    "TelegramUnavailable": TelegramUnavailable,
    "SpamLimited": SpamLimited,
}


def encode_error(error: BaseException) -> dict[str, object]:
    if isinstance(error, RateLimited):
        return {"type": "RateLimited", "retry_after": error.retry_after, "action": error.action}
    if isinstance(error, RecipientUnreachable):
        return {"type": "RecipientUnreachable", "reason": error.reason, "detail": error.detail}
    if isinstance(error, AccountNotConnected):
        return {"type": "AccountNotConnected", "account_id": error.account_id}
    for name, kind in _PLAIN.items():
        if type(error) is kind:
            return {"type": name, "message": str(error)}
    return {"type": "TelegramUnavailable", "message": str(error) or type(error).__name__}


def decode_error(payload: dict[str, object]) -> TelegramError:
    kind = payload.get("type")
    if kind == "RateLimited":
        return RateLimited(_number(payload.get("retry_after")), str(payload.get("action", "")))
    if kind == "RecipientUnreachable":
        return RecipientUnreachable(str(payload.get("reason")), str(payload.get("detail", "")))
    if kind == "AccountNotConnected":
        return AccountNotConnected(_int(payload.get("account_id")))
    plain = _PLAIN.get(str(kind), TelegramUnavailable)
    return plain(str(payload.get("message", "")))


def encode_peer(peer: Peer) -> dict[str, object]:
    return {
        "account_id": peer.account_id,
        "username": peer.username,
        "user_id": peer.user_id,
        "access_hash": peer.access_hash,
    }


def decode_peer(payload: dict[str, object]) -> Peer:
    return Peer(
        account_id=_int(payload["account_id"]),
        username=str(payload["username"]),
        user_id=_int(payload["user_id"]),
        access_hash=_int(payload["access_hash"]),
    )


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"not a number: {value!r}")
    return float(value)


def _int(value: object) -> int:
    """An integer as JSON keeps it (an access hash has 64 bits: never through a float)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not an integer: {value!r}")
    return value
