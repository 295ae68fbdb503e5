"""A Telegram accounts adapter that talks to a stand-in server instead of Telegram.

The end-to-end test's entry point (`tests/entrypoints/run_with_standin.py`) passes it to the
real `run()`. It implements AccountConnections, TelegramMessenger and TelegramLogin as plain
JSON over HTTP to the stand-in server the test runs (`tests/fakes/telegram_standin.py`), so
the test can play the prospects from outside the process and see exactly what was sent,
across restarts and `kill -9`.

Protocol: `POST /<method>` with a JSON body answers `{"result": ...}` or, with status 400,
`{"error": "<ErrorClassName>", "args": {...}}`, turned back into the application's error
class here. Like kurigram it connects an account from its stored update state (and hands
over the difference first), receives pushed updates by long polling
`POST /updates {"session", "timeout"}` (each once), hands each to the subscribers in order,
and tells the state keeper the state as of an update only once they are done with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx

from salesbot.application import errors
from salesbot.application.ports import (
    ChatHistoryItem,
    IncomingHandler,
    IncomingMessage,
    LoginProgress,
    SentMessage,
    StateKeeper,
    UpdateState,
)
from salesbot.domain.account import Account
from salesbot.domain.peer import Peer

log = logging.getLogger(__name__)

_ERRORS: dict[str, type[Exception]] = {
    cls.__name__: cls
    for cls in (
        errors.RateLimited,
        errors.SpamLimited,
        errors.RecipientUnreachable,
        errors.SessionInvalid,
        errors.AccountDeactivated,
        errors.TelegramUnavailable,
        errors.AccountNotConnected,
        errors.PhoneNumberRejected,
        errors.PhoneBanned,
        errors.CodeInvalid,
        errors.CodeExpired,
        errors.PasswordInvalid,
        errors.NoLoginInProgress,
    )
}


def _error(name: str, args: dict[str, Any]) -> Exception:
    cls = _ERRORS.get(name)
    if cls is None:
        return errors.TelegramUnavailable(f"stand-in error {name}: {args}")
    if cls is errors.RateLimited:
        return errors.RateLimited(float(args.get("retry_after", 1)), str(args.get("action", "")))
    if cls is errors.RecipientUnreachable:
        return errors.RecipientUnreachable(str(args.get("reason", "not_found")))
    if cls is errors.AccountNotConnected:
        return errors.AccountNotConnected(int(args.get("account_id", 0)))
    return cls(str(args.get("message", name)))


def _peer_json(peer: Peer) -> dict[str, Any]:
    return {
        "account_id": peer.account_id,
        "username": peer.username,
        "user_id": peer.user_id,
        "access_hash": peer.access_hash,
    }


class StandinTelegram:
    def __init__(self, base_url: str, *, poll_timeout: float = 1.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._poll_timeout = poll_timeout
        self._http: httpx.AsyncClient | None = None
        self._connected: set[int] = set()
        self._handlers: list[IncomingHandler] = []
        self._keepers: list[StateKeeper] = []
        self._poller: asyncio.Task[None] | None = None
        self._session = uuid.uuid4().hex
        self._closing = False

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                base_url=self._base_url, timeout=httpx.Timeout(30.0, connect=5.0)
            )
        return self._http

    async def _call(self, method: str, **body: Any) -> Any:
        try:
            response = await self.http.post(f"/{method}", json=body)
        except httpx.HTTPError as exc:
            raise errors.TelegramUnavailable(f"stand-in unreachable: {exc!r}") from None
        try:
            payload = response.json()
        except ValueError:
            raise errors.TelegramUnavailable(
                f"stand-in answered {response.status_code} without JSON"
            ) from None
        if response.status_code != 200:
            raise _error(payload.get("error", ""), payload.get("args", {}))
        return payload.get("result")

    async def aclose(self) -> None:
        # On Python 3.10 a cancellation that lands inside httpx's own timeout scope can come
        # out as a timeout error: the flag ends the polling loop all the same.
        self._closing = True
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # --- AccountConnections --------------------------------------------------------------

    async def connect(
        self, account: Account, peers: Sequence[Peer], state: UpdateState | None = None
    ) -> None:
        assert account.id is not None
        answer = await self._call(
            "connect",
            account_id=account.id,
            phone=account.phone,
            session_string=account.session_string,
            peers=[_peer_json(peer) for peer in peers],
            session=self._session,
            state=None if state is None else vars(state),
        )
        self._connected.add(account.id)
        if "difference" not in answer:  # a new client starts from now
            self._report(account.id, answer["state"]["pts"])
        for update in answer.get("difference", []):
            await self._hand_over(update)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(), name="telegram stand-in updates")

    async def disconnect(self, account_id: int) -> None:
        self._connected.discard(account_id)
        with contextlib.suppress(errors.TelegramError):
            await self._call("disconnect", account_id=account_id, session=self._session)

    def connected(self) -> frozenset[int]:
        return frozenset(self._connected)

    def subscribe(self, handler: IncomingHandler) -> None:
        self._handlers.append(handler)

    def keep_state(self, keeper: StateKeeper) -> None:
        self._keepers.append(keeper)

    def _report(self, account_id: int, pts: int) -> None:
        state = UpdateState(pts=pts, qts=0, date=0, seq=0)
        for keeper in self._keepers:
            keeper(account_id, state)

    async def _poll(self) -> None:
        while not self._closing:
            try:
                updates = await self._call(
                    "updates", session=self._session, timeout=self._poll_timeout
                )
            except errors.TelegramError as exc:
                if self._closing:
                    return
                log.warning("stand-in updates failed: %s", exc)
                await asyncio.sleep(0.2)
                continue
            for update in updates:
                if update["account_id"] in self._connected:
                    await self._hand_over(update)

    async def _hand_over(self, update: dict[str, Any]) -> None:
        incoming = IncomingMessage(
            account_id=update["account_id"],
            user_id=update["user_id"],
            username=update.get("username"),
            text=update["text"],
            telegram_message_id=update["telegram_message_id"],
            date=datetime.fromisoformat(update["date"]),
            outgoing=bool(update.get("outgoing")),
        )
        for handler in self._handlers:
            try:
                await handler(incoming)
            except Exception:
                log.exception("incoming handler failed")
        self._report(incoming.account_id, update["pts"])

    # --- TelegramMessenger ---------------------------------------------------------------

    def _check(self, account_id: int) -> None:
        if account_id not in self._connected:
            raise errors.AccountNotConnected(account_id)

    async def resolve_username(self, account_id: int, username: str) -> Peer:
        self._check(account_id)
        found = await self._call("resolve_username", account_id=account_id, username=username)
        return Peer(
            account_id=account_id,
            username=found["username"],
            user_id=found["user_id"],
            access_hash=found["access_hash"],
        )

    async def send_message(self, account_id: int, peer: Peer, text: str) -> SentMessage:
        self._check(account_id)
        sent = await self._call(
            "send_message", account_id=account_id, peer=_peer_json(peer), text=text
        )
        return SentMessage(
            telegram_message_id=sent["telegram_message_id"],
            date=datetime.fromisoformat(sent["date"]),
        )

    async def send_typing(self, account_id: int, peer: Peer) -> None:
        self._check(account_id)
        await self._call("send_typing", account_id=account_id, peer=_peer_json(peer))

    async def mark_read(self, account_id: int, peer: Peer) -> None:
        self._check(account_id)
        await self._call("mark_read", account_id=account_id, peer=_peer_json(peer))

    async def newest_message_ids(self, account_id: int, peers: Sequence[Peer]) -> dict[int, int]:
        self._check(account_id)
        found = await self._call(
            "newest_message_ids", account_id=account_id, user_ids=[p.user_id for p in peers]
        )
        return {int(user_id): message_id for user_id, message_id in found.items()}

    async def recent_messages(
        self, account_id: int, peer: Peer, *, limit: int = 50
    ) -> list[ChatHistoryItem]:
        self._check(account_id)
        items = await self._call(
            "recent_messages", account_id=account_id, peer=_peer_json(peer), limit=limit
        )
        return [
            ChatHistoryItem(
                telegram_message_id=item["telegram_message_id"],
                outgoing=item["outgoing"],
                text=item["text"],
                date=datetime.fromisoformat(item["date"]),
            )
            for item in items
        ]

    # --- TelegramLogin -------------------------------------------------------------------

    async def begin_login(self, phone: str, *, proxy: str | None = None) -> None:
        await self._call("begin_login", phone=phone, proxy=proxy)

    async def submit_code(self, phone: str, code: str) -> LoginProgress:
        return LoginProgress(**await self._call("submit_code", phone=phone, code=code))

    async def submit_password(self, phone: str, password: str) -> LoginProgress:
        return LoginProgress(
            **await self._call("submit_password", phone=phone, password=password)
        )

    async def cancel_login(self, phone: str) -> None:
        await self._call("cancel_login", phone=phone)
