"""The live MTProto clients: one kurigram Client per account, run from its session string.

Implements AccountConnections and TelegramMessenger. Clients live in memory only
(`in_memory=True`): nothing is written to disk, and the peers the database knows are
loaded into each client's storage at connect, so a restart never re-resolves a username.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from aiolimiter import AsyncLimiter
from pyrogram import Client, enums, filters, raw
from pyrogram.handlers import MessageHandler

from salesbot.adapters.logging import secret_mask
from salesbot.adapters.telegram.errors import translate, translated
from salesbot.adapters.telegram.proxy import proxy_dict
from salesbot.adapters.telegram.session import session_user_id
from salesbot.application.errors import (
    AccountNotConnected,
    RecipientUnreachable,
    SessionInvalid,
    TelegramUnavailable,
)
from salesbot.application.ports import (
    ChatHistoryItem,
    IncomingHandler,
    IncomingMessage,
    SentMessage,
)
from salesbot.domain.account import Account
from salesbot.domain.peer import Peer

log = logging.getLogger(__name__)

TELEGRAM_SERVICE_USER_ID = 777000
"""Telegram's own account: login codes and security notices, never a prospect."""

INCOMING = (
    filters.private
    & filters.incoming
    & filters.text
    & ~filters.bot
    & ~filters.me
    & ~filters.user(TELEGRAM_SERVICE_USER_ID)
)
"""Private text messages people (not bots, not Telegram, not us) write to the account."""

ClientFactory = Callable[..., Any]
Sleep = Callable[[float], Awaitable[None]]


def as_utc(moment: datetime | None) -> datetime:
    """Pyrogram dates are naive local time (`datetime.fromtimestamp`): make them aware UTC."""
    if moment is None:
        return datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc)


class PyrogramAccounts:
    def __init__(
        self,
        api_id: int,
        api_hash: str,
        *,
        client_factory: ClientFactory = Client,
        resolves_per_minute: float = 4,
        connect_attempts: int = 3,
        reconnect_backoff: float = 2.0,
        sleep: Sleep = asyncio.sleep,
        client_options: dict[str, Any] | None = None,
    ) -> None:
        self._api_id = api_id
        self._api_hash = api_hash
        self._factory = client_factory
        self._resolves_per_minute = resolves_per_minute
        self._connect_attempts = max(1, connect_attempts)
        self._backoff = reconnect_backoff
        self._sleep = sleep
        self._options = client_options or {}
        self._clients: dict[int, Any] = {}
        self._known: dict[int, set[int]] = {}
        self._limiters: dict[int, AsyncLimiter] = {}
        self._handlers: list[IncomingHandler] = []

    # --- AccountConnections --------------------------------------------------------------

    async def connect(self, account: Account, peers: Sequence[Peer]) -> None:
        assert account.id is not None, "connect a stored account"
        account_id = account.id
        secret_mask.add(account.session_string)
        if account_id in self._clients:
            await self.disconnect(account_id)
        try:
            session_user_id(account.session_string)
        except ValueError as exc:
            raise SessionInvalid(str(exc)) from None
        try:
            proxy = proxy_dict(account.proxy) if account.proxy else None
        except ValueError as exc:
            raise TelegramUnavailable(f"account {account_id}: {exc}") from None
        if proxy and "password" in proxy:
            secret_mask.add(proxy["password"])

        client = await self._start(account, proxy)
        try:
            await self._load_peers(client, peers)
        except BaseException:
            await _stop_quietly(client)
            raise
        self._clients[account_id] = client
        self._known[account_id] = {peer.user_id for peer in peers}
        self._limiters.setdefault(account_id, AsyncLimiter(self._resolves_per_minute, 60))
        log.info("account %s connected with %d known peers", account_id, len(peers))

    async def _start(self, account: Account, proxy: dict[str, Any] | None) -> Any:
        """A started client; network failures are retried with a growing pause."""
        delay = self._backoff
        for attempt in range(1, self._connect_attempts + 1):
            client = self._factory(
                name=f"salesbot-account-{account.id}",
                api_id=self._api_id,
                api_hash=self._api_hash,
                session_string=account.session_string,
                in_memory=True,
                proxy=proxy,
                **self._options,
            )
            client.add_handler(MessageHandler(self._on_message(account.id), INCOMING))
            try:
                with translated("connect"):
                    await client.start()
            except TelegramUnavailable as exc:
                await _stop_quietly(client)
                if attempt == self._connect_attempts:
                    raise
                log.warning(
                    "account %s: cannot reach Telegram (%s); retry %d/%d in %.0f s",
                    account.id, exc, attempt, self._connect_attempts - 1, delay,
                )
                await self._sleep(delay)
                delay *= 2
            except BaseException:
                await _stop_quietly(client)
                raise
            else:
                return client
        raise AssertionError("unreachable")  # pragma: no cover

    async def _load_peers(self, client: Any, peers: Sequence[Peer]) -> None:
        if not peers:
            return
        await client.storage.update_peers(
            [(peer.user_id, peer.access_hash, "user", None) for peer in peers]
        )
        await client.storage.update_usernames([(peer.user_id, [peer.username]) for peer in peers])

    async def disconnect(self, account_id: int) -> None:
        client = self._clients.pop(account_id, None)
        self._known.pop(account_id, None)
        if client is not None:
            await _stop_quietly(client)
            log.info("account %s disconnected", account_id)

    async def close(self) -> None:
        """Disconnect every account (at shutdown)."""
        await asyncio.gather(*(self.disconnect(a) for a in list(self._clients)))

    def connected(self) -> frozenset[int]:
        return frozenset(a for a, c in self._clients.items() if getattr(c, "is_connected", False))

    def subscribe(self, handler: IncomingHandler) -> None:
        self._handlers.append(handler)

    def _on_message(self, account_id: int | None) -> Callable[[Any, Any], Awaitable[None]]:
        async def on_message(_client: Any, message: Any) -> None:
            incoming = _incoming(account_id, message)
            if incoming is None:
                return
            for handler in list(self._handlers):
                try:
                    await handler(incoming)
                except Exception:
                    log.exception(
                        "account %s: handling message %s from user %s failed",
                        account_id, incoming.telegram_message_id, incoming.user_id,
                    )

        return on_message

    # --- TelegramMessenger ---------------------------------------------------------------

    def _client(self, account_id: int) -> Any:
        client = self._clients.get(account_id)
        if client is None:
            raise AccountNotConnected(account_id)
        return client

    async def _remember(self, account_id: int, client: Any, peer: Peer) -> None:
        """Make sure the client's storage holds the peer's access hash before using it."""
        known = self._known.setdefault(account_id, set())
        if peer.user_id not in known:
            await self._load_peers(client, [peer])
            known.add(peer.user_id)

    async def resolve_username(self, account_id: int, username: str) -> Peer:
        client = self._client(account_id)
        name = username.lstrip("@").lower()
        limiter = self._limiters.setdefault(account_id, AsyncLimiter(self._resolves_per_minute, 60))
        async with limiter:
            with translated("resolve"):
                resolved = await client.resolve_peer(name)
        if not isinstance(resolved, raw.types.InputPeerUser):
            raise RecipientUnreachable(RecipientUnreachable.INVALID, f"@{name} is not a person")
        self._known.setdefault(account_id, set()).add(resolved.user_id)
        return Peer(
            account_id=account_id,
            username=name,
            user_id=resolved.user_id,
            access_hash=resolved.access_hash,
        )

    async def send_message(self, account_id: int, peer: Peer, text: str) -> SentMessage:
        client = self._client(account_id)
        await self._remember(account_id, client, peer)
        with translated("send"):
            sent = await client.send_message(
                chat_id=peer.user_id, text=text, parse_mode=enums.ParseMode.DISABLED
            )
        return SentMessage(telegram_message_id=sent.id, date=as_utc(sent.date))

    async def send_typing(self, account_id: int, peer: Peer) -> None:
        client = self._client(account_id)
        await self._remember(account_id, client, peer)
        with translated("typing"):
            await client.send_chat_action(peer.user_id, enums.ChatAction.TYPING)

    async def mark_read(self, account_id: int, peer: Peer) -> None:
        client = self._client(account_id)
        await self._remember(account_id, client, peer)
        with translated("read"):
            await client.read_chat_history(peer.user_id)

    async def recent_messages(
        self, account_id: int, peer: Peer, *, limit: int = 50
    ) -> list[ChatHistoryItem]:
        client = self._client(account_id)
        await self._remember(account_id, client, peer)
        items = []
        with translated("history"):
            async for message in client.get_chat_history(peer.user_id, limit=limit):
                items.append(
                    ChatHistoryItem(
                        telegram_message_id=message.id,
                        outgoing=bool(message.outgoing),
                        text=message.text or message.caption or "",
                        date=as_utc(message.date),
                    )
                )
        return items


def _incoming(account_id: int | None, message: Any) -> IncomingMessage | None:
    """The message in plain values, or None when it is not a person's private text."""
    sender = message.from_user
    chat = message.chat
    if (
        account_id is None
        or sender is None
        or chat is None
        or chat.type is not enums.ChatType.PRIVATE
        or sender.is_bot
        or sender.is_self
        or message.outgoing
        or sender.id == TELEGRAM_SERVICE_USER_ID
        or not message.text
    ):
        return None
    return IncomingMessage(
        account_id=account_id,
        user_id=sender.id,
        username=sender.username.lower() if sender.username else None,
        text=message.text,
        telegram_message_id=message.id,
        date=as_utc(message.date),
    )


async def _stop_quietly(client: Any) -> None:
    """Stop a client whatever state it is in; failures to stop are logged, not raised."""
    try:
        if getattr(client, "is_initialized", False):
            await client.stop()
        elif getattr(client, "is_connected", False):
            await client.disconnect()
    except Exception as exc:  # a dying connection may fail to close cleanly
        log.debug("stopping a client failed: %s", translate(exc) or exc)
