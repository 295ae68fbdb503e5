"""The live MTProto clients: one kurigram Client per account, run from its session string.

Implements AccountConnections, TelegramMessenger, MediaFiles (a received file, fetched
into memory only when asked for: a voice note to transcribe) and SpamBot (spam_bot.py).
Nothing is written to disk: each client's storage (`storage.AccountStorage`) holds the
session and the peers the database knows in memory (a restart never re-resolves a
username), and the account's update state from the database, so kurigram's
`recover_gaps` replays what came while salesbot was away (`skip_updates=False`). One
handler worker per client handles the account's messages one at a time, in order; once the
handlers are done with an update (its message is stored), the storage reports the state as
of it to the state keeper.

Reads of an account's chats (history, the chats' newest messages, typing, read marks)
share one rate limit per account, so a catch-up after an outage never bursts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from aiolimiter import AsyncLimiter
from pyrogram import Client, enums, filters, raw
from pyrogram.handlers import MessageHandler, RawUpdateHandler

from salesbot.adapters.logging import secret_mask
from salesbot.adapters.telegram.errors import connect_or_unreachable, translate, translated
from salesbot.adapters.telegram.media import media_of
from salesbot.adapters.telegram.proxy import proxy_dict
from salesbot.adapters.telegram.session import session_user_id
from salesbot.adapters.telegram.spam_bot import ask_spam_bot
from salesbot.adapters.telegram.storage import AccountStorage
from salesbot.application.errors import (
    AccountNotConnected,
    MediaTooLarge,
    RecipientUnreachable,
    SessionInvalid,
    TelegramUnavailable,
)
from salesbot.application.ports import (
    ChatHistoryItem,
    IncomingHandler,
    IncomingMessage,
    SentMessage,
    StateKeeper,
    UpdateState,
)
from salesbot.domain.account import Account
from salesbot.domain.media import Media
from salesbot.domain.peer import Peer

log = logging.getLogger(__name__)

TELEGRAM_SERVICE_USER_ID = 777000
"""Telegram's own account: login codes and security notices, never a prospect."""

INCOMING = (
    filters.private
    & filters.incoming
    & ~filters.bot
    & ~filters.me
    & ~filters.user(TELEGRAM_SERVICE_USER_ID)
)
"""Private messages people (not bots, not Telegram, not us) write to the account: text or
media (`_incoming` leaves out what is neither, such as service messages)."""

OWN = filters.private & filters.outgoing
"""Private messages the account itself sent: from the Telegram app, or our own."""

DOWNLOAD_TIMEOUT = 120.0
"""Seconds a file may take to arrive before its download is given up."""

READS_PER_SECOND = 3
"""Reads of one account's chats per second (a burst of as many): what a person scrolling
their chats makes; well under what Telegram answers with FloodWait."""

PEER_DIALOGS_PER_CALL = 100

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
        reads_per_second: float = READS_PER_SECOND,
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
        self._reads_per_second = reads_per_second
        self._reads: dict[int, AsyncLimiter] = {}
        self._handlers: list[IncomingHandler] = []
        self._keepers: list[StateKeeper] = []
        self._storages: dict[int, AccountStorage] = {}
        self._handling: dict[int, set[asyncio.Task[None]]] = {}

    # --- AccountConnections --------------------------------------------------------------

    async def connect(
        self, account: Account, peers: Sequence[Peer], state: UpdateState | None = None
    ) -> None:
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

        client = await self._start(account, proxy, state)
        try:
            await self._load_peers(client, peers)
        except BaseException:
            await _stop_quietly(client)
            raise
        self._clients[account_id] = client
        self._known[account_id] = {peer.user_id for peer in peers}
        self._limiters.setdefault(account_id, AsyncLimiter(self._resolves_per_minute, 60))
        log.info("account %s connected with %d known peers", account_id, len(peers))

    async def _start(
        self, account: Account, proxy: dict[str, Any] | None, state: UpdateState | None
    ) -> Any:
        """A started client; network failures are retried with a growing pause."""
        assert account.id is not None
        account_id = account.id
        delay = self._backoff
        for attempt in range(1, self._connect_attempts + 1):
            name = f"salesbot-account-{account_id}"
            storage = AccountStorage(
                name, account.session_string, state, lambda s: self._report(account_id, s)
            )
            client = self._factory(
                name=name,
                api_id=self._api_id,
                api_hash=self._api_hash,
                storage_engine=storage,
                skip_updates=False,
                workers=1,
                proxy=proxy,
                **self._options,
            )
            on_message = self._on_message(account_id)
            client.add_handler(MessageHandler(on_message, INCOMING))
            client.add_handler(MessageHandler(on_message, OWN))
            # A later group: it runs once the message handlers are done with the update.
            client.add_handler(RawUpdateHandler(_handled_by(storage)), group=1)
            try:
                with translated("connect"):
                    await connect_or_unreachable(client, proxy, start=True)
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
                self._storages[account_id] = storage
                return client
        raise AssertionError("unreachable")  # pragma: no cover

    def _report(self, account_id: int, state: UpdateState) -> None:
        for keeper in self._keepers:
            keeper(account_id, state)

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
        storage = self._storages.pop(account_id, None)
        if storage is not None:
            # What is still being handled (waiting for the database, say) is given up
            # without being counted handled: the next start is given it again.
            storage.stop_reporting()
            for task in self._handling.pop(account_id, set()):
                task.cancel()
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

    def keep_state(self, keeper: StateKeeper) -> None:
        self._keepers.append(keeper)

    def _on_message(self, account_id: int | None) -> Callable[[Any, Any], Awaitable[None]]:
        async def on_message(_client: Any, message: Any) -> None:
            if message.outgoing:
                incoming = _own(account_id, message)
            else:
                incoming = _incoming(account_id, message)
            if incoming is None:
                return
            handling = asyncio.ensure_future(self._hand_over(incoming))
            running = self._handling.setdefault(incoming.account_id, set())
            running.add(handling)
            try:
                await handling
            except asyncio.CancelledError:
                if not handling.cancelled() or incoming.account_id in self._clients:
                    raise
                # Cancelled by disconnect(): not handled, and not counted as handled.
            finally:
                running.discard(handling)

        return on_message

    async def _hand_over(self, incoming: IncomingMessage) -> None:
        for handler in list(self._handlers):
            try:
                await handler(incoming)
            except Exception:
                log.exception(
                    "account %s: handling message %s from user %s failed",
                    incoming.account_id, incoming.telegram_message_id, incoming.user_id,
                )

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

    def _read_limit(self, account_id: int) -> AsyncLimiter:
        return self._reads.setdefault(account_id, AsyncLimiter(self._reads_per_second, 1))

    async def send_typing(self, account_id: int, peer: Peer) -> None:
        client = self._client(account_id)
        await self._remember(account_id, client, peer)
        async with self._read_limit(account_id):
            with translated("typing"):
                await client.send_chat_action(peer.user_id, enums.ChatAction.TYPING)

    async def mark_read(self, account_id: int, peer: Peer) -> None:
        client = self._client(account_id)
        await self._remember(account_id, client, peer)
        async with self._read_limit(account_id):
            with translated("read"):
                await client.read_chat_history(peer.user_id)

    async def newest_message_ids(self, account_id: int, peers: Sequence[Peer]) -> dict[int, int]:
        client = self._client(account_id)
        for peer in peers:
            await self._remember(account_id, client, peer)
        found: dict[int, int] = {}
        for start in range(0, len(peers), PEER_DIALOGS_PER_CALL):
            chunk = peers[start : start + PEER_DIALOGS_PER_CALL]
            request = raw.functions.messages.GetPeerDialogs(
                peers=[
                    raw.types.InputDialogPeer(
                        peer=raw.types.InputPeerUser(
                            user_id=peer.user_id, access_hash=peer.access_hash
                        )
                    )
                    for peer in chunk
                ]
            )
            async with self._read_limit(account_id):
                with translated("history"):
                    answer = await client.invoke(request)
            for dialog in answer.dialogs:
                user_id = getattr(dialog.peer, "user_id", None)
                if user_id is not None and dialog.top_message:
                    found[user_id] = dialog.top_message
        return found

    async def recent_messages(
        self, account_id: int, peer: Peer, *, limit: int = 50
    ) -> list[ChatHistoryItem]:
        client = self._client(account_id)
        await self._remember(account_id, client, peer)
        items = []
        async with self._read_limit(account_id):
            with translated("history"):
                async for message in client.get_chat_history(peer.user_id, limit=limit):
                    items.append(
                        ChatHistoryItem(
                            telegram_message_id=message.id,
                            outgoing=bool(message.outgoing),
                            text=message.text or message.caption or "",
                            date=as_utc(message.date),
                            media=media_of(message),
                        )
                    )
        return items

    # --- SpamBot -------------------------------------------------------------------------

    async def ask_spam_bot(self, account_id: int) -> str:
        client = self._client(account_id)
        return await ask_spam_bot(client, reads=self._read_limit(account_id), sleep=self._sleep)

    # --- MediaFiles ----------------------------------------------------------------------

    async def download(self, account_id: int, media: Media, *, max_bytes: int) -> bytes:
        client = self._client(account_id)
        if media.file_id is None:
            raise TelegramUnavailable(f"{media.kind.value}: no file reference")
        if media.file_size is not None and media.file_size > max_bytes:
            raise MediaTooLarge(f"{media.kind.value}: {media.file_size} bytes")
        async with self._read_limit(account_id):
            with translated("download"):
                try:
                    data = await asyncio.wait_for(
                        client.download_media(media.file_id, in_memory=True), DOWNLOAD_TIMEOUT
                    )
                except asyncio.TimeoutError:
                    raise TelegramUnavailable(
                        f"download: no file in {DOWNLOAD_TIMEOUT:.0f} s"
                    ) from None
        content = data.getvalue() if hasattr(data, "getvalue") else None
        if not isinstance(content, bytes) or not content:
            raise TelegramUnavailable(f"download: no {media.kind.value} file came")
        if len(content) > max_bytes:
            raise MediaTooLarge(f"{media.kind.value}: {len(content)} bytes")
        return content


def _words_and_media(message: Any) -> tuple[str, Media | None] | None:
    """The message's text (a media message's caption) and media, or None with neither."""
    media = media_of(message)
    text = message.text or message.caption or ""
    if media is None and not text:
        return None
    return str(text), media


def _incoming(account_id: int | None, message: Any) -> IncomingMessage | None:
    """The message in plain values, or None when it is not a person's private text or media."""
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
    ):
        return None
    said = _words_and_media(message)
    if said is None:
        return None
    return IncomingMessage(
        account_id=account_id,
        user_id=sender.id,
        username=sender.username.lower() if sender.username else None,
        text=said[0],
        telegram_message_id=message.id,
        date=as_utc(message.date),
        media=said[1],
    )


def _own(account_id: int | None, message: Any) -> IncomingMessage | None:
    """A private message the account sent (text or media), in plain values (the chat partner as the
    user), or None when it is not one to a person."""
    chat = message.chat
    if (
        account_id is None
        or chat is None
        or chat.type is not enums.ChatType.PRIVATE
        or not message.outgoing
        or (message.from_user is not None and chat.id == message.from_user.id)  # Saved Messages
        or chat.id == TELEGRAM_SERVICE_USER_ID
    ):
        return None
    said = _words_and_media(message)
    if said is None:
        return None
    return IncomingMessage(
        account_id=account_id,
        user_id=chat.id,
        username=chat.username.lower() if chat.username else None,
        text=said[0],
        telegram_message_id=message.id,
        date=as_utc(message.date),
        outgoing=True,
        media=said[1],
    )


def _handled_by(storage: AccountStorage) -> Callable[..., Awaitable[None]]:
    async def handled(_client: Any, update: Any, _users: Any, _chats: Any) -> None:
        storage.handled(update)

    return handled


async def _stop_quietly(client: Any) -> None:
    """Stop a client whatever state it is in; failures to stop are logged, not raised."""
    try:
        if getattr(client, "is_initialized", False):
            await client.stop()
        elif getattr(client, "is_connected", False):
            await client.disconnect()
    except Exception as exc:  # a dying connection may fail to close cleanly
        log.debug("stopping a client failed: %s", translate(exc) or exc)
