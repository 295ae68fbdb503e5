"""A stand-in for `pyrogram.Client`, passed to the adapters as their client factory.

It speaks the slice of kurigram's API the adapters use, returns kurigram's own types
(`raw.types.InputPeerUser`, `types.Message`, `types.SentCode`) and raises kurigram's REAL
error classes, scripted per method with `fail(method, error)`. Like the real client, it
cannot send to a user id whose access hash its storage does not hold (PEER_ID_INVALID):
that is what makes "peers are loaded at connect" observable.
"""

from __future__ import annotations

import base64
import io
import itertools
import struct
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from pyrogram import enums, raw, types
from pyrogram import errors as tg
from pyrogram.handlers import RawUpdateHandler

LOGIN_CODE = "12345"


def make_session_string(user_id: int, *, api_id: int = 1234567, marker: bytes = b"") -> str:
    """A session string in kurigram's format (`>BI?256sQ?`), logged in as `user_id`."""
    auth_key = (marker + b"TEST-stand-in-auth-key-" + bytes(range(256)))[:256]
    packed = struct.pack(">BI?256sQ?", 2, api_id, False, auth_key, user_id, False)
    return base64.urlsafe_b64encode(packed).decode().rstrip("=")


class StandInStorage:
    def __init__(self) -> None:
        self.peers: dict[int, tuple[int, str]] = {}
        self.usernames: dict[str, int] = {}

    async def update_peers(self, peers: list[tuple[int, int, str, str | None]]) -> None:
        for peer_id, access_hash, peer_type, _phone in peers:
            self.peers[peer_id] = (access_hash, peer_type)

    async def server_address(self) -> str:
        return "149.154.167.51"  # DC2, where kurigram starts a new session

    async def port(self) -> int:
        return 443

    async def update_usernames(self, usernames: list[tuple[int, list[str | None]]]) -> None:
        for peer_id, names in usernames:
            for name in names:
                if name:
                    self.usernames[name.lower()] = peer_id


class StandInTelegram:
    """Telegram's side, shared by every stand-in client: users, logins, what was sent."""

    def __init__(self) -> None:
        self.users: dict[str, tuple[int, int]] = {}
        self.channels: dict[str, int] = {}
        self.broken_sessions: dict[str, BaseException] = {}
        self.start_failures: deque[BaseException] = deque()
        self.clients: list[StandInClient] = []
        self.resolve_calls: list[str] = []
        self.sent: list[tuple[str, int, str]] = []
        self.history: dict[tuple[str, int], list[types.Message]] = defaultdict(list)
        self.login_codes: dict[str, str] = {}
        self.passwords: dict[str, str] = {}
        self.account_ids: dict[str, int] = {}
        self.sent_code_type = enums.SentCodeType.APP
        self.files: dict[str, bytes] = {}
        """Received files by file_id, for `download_media`."""
        self.bot_answers: dict[int, deque[str]] = defaultdict(deque)
        """A bot's scripted answers by its user id: each message to it gets the next one."""
        self._message_ids = itertools.count(100)
        self.pts = 0
        self._hashes = itertools.count(1)

    def add_user(self, username: str, user_id: int, access_hash: int | None = None) -> None:
        self.users[username.lower()] = (user_id, access_hash or user_id * 7919)

    def factory(self, name: str, **kwargs: Any) -> StandInClient:
        client = StandInClient(self, name, **kwargs)
        self.clients.append(client)
        return client

    def client(self, session_string: str) -> StandInClient:
        """The newest client running `session_string`."""
        return next(c for c in reversed(self.clients) if c.session_string == session_string)

    def next_message_id(self) -> int:
        return next(self._message_ids)

    def next_hash(self) -> str:
        return f"code-hash-{next(self._hashes)}"


class StandInClient:
    def __init__(
        self,
        server: StandInTelegram,
        name: str,
        *,
        api_id: int | None = None,
        api_hash: str | None = None,
        session_string: str | None = None,
        in_memory: bool | None = None,
        proxy: dict[str, Any] | None = None,
        no_updates: bool | None = None,
        storage_engine: Any = None,
        skip_updates: bool | None = None,
        workers: int | None = None,
        **options: Any,
    ) -> None:
        self.server = server
        self.name = name
        self.api_id = api_id
        self.api_hash = api_hash
        # kurigram runs a session from a session string, or from the storage it is given.
        self.session_string = session_string or getattr(storage_engine, "session_string", None)
        self.in_memory = in_memory
        self.proxy = proxy
        self.no_updates = no_updates
        self.skip_updates = skip_updates
        self.workers = workers
        self.options = options
        self.storage: Any = storage_engine if storage_engine is not None else StandInStorage()
        self.handlers: list[tuple[Any, int]] = []
        self.is_connected = False
        self.is_initialized = False
        self.stopped = 0
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self._failures: dict[str, deque[BaseException]] = defaultdict(deque)
        self._phone_code_hash: str | None = None
        self._user_id: int | None = None
        self._phone: str | None = None

    # --- scripting -----------------------------------------------------------------------

    def fail(self, method: str, error: BaseException) -> None:
        """The next call of `method` raises `error` (a kurigram error, an OSError...)."""
        self._failures[method].append(error)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> None:
        self.calls.append((method, args, kwargs))
        if self._failures[method]:
            raise self._failures[method].popleft()

    def called(self, method: str) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        return [(a, k) for m, a, k in self.calls if m == method]

    async def emit(self, message: types.Message) -> None:
        """An update arrives, as kurigram's dispatcher hands it out: group by group, to the
        first handler of each group that takes it (a message handler whose filters pass
        gets the message, a raw handler the update, which moves the account's pts on)."""
        self.server.pts += 1
        update = raw.types.UpdateNewMessage(
            message=raw.types.MessageEmpty(id=message.id), pts=self.server.pts, pts_count=1
        )
        for group in sorted({group for _, group in self.handlers}):
            for handler, in_group in self.handlers:
                if in_group != group:
                    continue
                if isinstance(handler, RawUpdateHandler):
                    await handler.callback(self, update, {}, {})
                    break
                if await handler.check(self, message):
                    await handler.callback(self, message)
                    break

    # --- life ----------------------------------------------------------------------------

    async def start(self) -> StandInClient:
        self._call("start")
        if not isinstance(self.storage, StandInStorage):
            await self.storage.open()  # as kurigram's connect() does
        self.is_connected = True
        if self.server.start_failures:
            self.is_connected = False
            raise self.server.start_failures.popleft()
        broken = self.server.broken_sessions.get(self.session_string or "")
        if broken is not None:
            self.is_connected = False
            raise broken
        self.is_initialized = True
        return self

    async def stop(self) -> None:
        self.stopped += 1
        self.is_initialized = False
        self.is_connected = False

    async def connect(self) -> bool:
        self._call("connect")
        self.is_connected = True
        return bool(self.session_string)

    async def disconnect(self) -> None:
        if not self.is_connected:
            raise ConnectionError("Client is already disconnected")
        self.stopped += 1
        self.is_connected = False

    def add_handler(self, handler: Any, group: int = 0) -> tuple[Any, int]:
        self.handlers.append((handler, group))
        return handler, group

    def _require_connection(self) -> None:
        if not self.is_connected:
            raise ConnectionError("Client has not been started yet")

    # --- messages ------------------------------------------------------------------------

    async def stored_peer(self, peer_id: int | str) -> Any:
        """The InputPeerUser the client's storage holds for an id or username, or None."""
        if isinstance(self.storage, StandInStorage):
            if isinstance(peer_id, str):
                peer_id = self.storage.usernames.get(peer_id, 0)
            if peer_id not in self.storage.peers:
                return None
            return raw.types.InputPeerUser(
                user_id=peer_id, access_hash=self.storage.peers[peer_id][0]
            )
        try:
            if isinstance(peer_id, str):
                return await self.storage.get_peer_by_username(peer_id)
            return await self.storage.get_peer_by_id(peer_id)
        except KeyError:
            return None

    async def resolve_peer(self, peer_id: int | str) -> Any:
        self._require_connection()
        self._call("resolve_peer", peer_id)
        if isinstance(peer_id, int):
            stored = await self.stored_peer(peer_id)
            if stored is None:
                raise tg.PeerIdInvalid()
            return stored
        name = peer_id.lstrip("@").lower()
        known = await self.stored_peer(name)
        if known is not None:
            return known
        self.server.resolve_calls.append(name)
        if name in self.server.channels:
            return raw.types.InputPeerChannel(
                channel_id=self.server.channels[name], access_hash=5
            )
        if name not in self.server.users:
            raise tg.UsernameNotOccupied()
        user_id, access_hash = self.server.users[name]
        await self.storage.update_peers([(user_id, access_hash, "user", None)])
        await self.storage.update_usernames([(user_id, [name])])
        return raw.types.InputPeerUser(user_id=user_id, access_hash=access_hash)

    async def _known(self, chat_id: int) -> None:
        if await self.stored_peer(chat_id) is None:
            raise tg.PeerIdInvalid()

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> types.Message:
        self._require_connection()
        self._call("send_message", chat_id, text, **kwargs)
        await self._known(chat_id)
        message = types.Message(
            id=self.server.next_message_id(),
            date=datetime.now(),  # noqa: DTZ005 - kurigram's dates are naive local time
            chat=types.Chat(id=chat_id, type=enums.ChatType.PRIVATE),
            text=text,
            outgoing=True,
        )
        self.server.sent.append((self.session_string or "", chat_id, text))
        self.server.history[(self.session_string or "", chat_id)].append(message)
        answers = self.server.bot_answers.get(chat_id)
        if answers:
            self.server.history[(self.session_string or "", chat_id)].append(
                types.Message(
                    id=self.server.next_message_id(),
                    date=datetime.now(),  # noqa: DTZ005 - kurigram's dates are naive local time
                    chat=types.Chat(id=chat_id, type=enums.ChatType.PRIVATE),
                    text=answers.popleft(),
                    outgoing=False,
                )
            )
        return message

    async def send_chat_action(self, chat_id: int, action: enums.ChatAction) -> bool:
        self._require_connection()
        self._call("send_chat_action", chat_id, action)
        await self._known(chat_id)
        return True

    async def read_chat_history(self, chat_id: int, max_id: int = 0) -> bool:
        self._require_connection()
        self._call("read_chat_history", chat_id)
        await self._known(chat_id)
        return True

    async def get_chat_history(self, chat_id: int, limit: int = 0) -> AsyncIterator[types.Message]:
        self._require_connection()
        self._call("get_chat_history", chat_id, limit=limit)
        await self._known(chat_id)
        newest_first = list(reversed(self.server.history[(self.session_string or "", chat_id)]))
        for message in newest_first[: limit or None]:
            yield message

    async def download_media(self, message: Any, in_memory: bool = False, **kwargs: Any) -> Any:
        """kurigram's: by file_id (or a Message); in memory, a BytesIO named like the file."""
        self._require_connection()
        self._call("download_media", message, in_memory=in_memory)
        assert in_memory, "salesbot never writes downloads to disk"
        if message not in self.server.files:
            raise tg.FileReferenceExpired()
        data = io.BytesIO(self.server.files[message])
        data.name = "file"
        return data

    # --- login ---------------------------------------------------------------------------

    async def send_code(self, phone_number: str) -> types.SentCode:
        self._require_connection()
        self._call("send_code", phone_number)
        self._phone_code_hash = self.server.next_hash()
        return types.SentCode(
            type=self.server.sent_code_type, phone_code_hash=self._phone_code_hash
        )

    async def sign_in(self, phone_number: str, phone_code_hash: str, phone_code: str) -> Any:
        self._require_connection()
        self._call("sign_in", phone_number, phone_code_hash, phone_code)
        if phone_code_hash != self._phone_code_hash:
            raise tg.PhoneCodeExpired()
        if phone_code != self.server.login_codes.get(phone_number, LOGIN_CODE):
            raise tg.PhoneCodeInvalid()
        if phone_number not in self.server.account_ids:
            return False  # no account on the number: sign-up required
        if phone_number in self.server.passwords:
            self._phone = phone_number
            raise tg.SessionPasswordNeeded()
        self._user_id = self.server.account_ids[phone_number]
        return types.User(id=self._user_id)

    async def check_password(self, password: str) -> types.User:
        self._require_connection()
        self._call("check_password", password)
        if self._phone is None:
            raise tg.PasswordHashInvalid()
        if password != self.server.passwords[self._phone]:
            raise tg.PasswordHashInvalid()
        self._user_id = self.server.account_ids[self._phone]
        return types.User(id=self._user_id)

    async def export_session_string(self) -> str:
        # The real storage is gone once disconnected: exporting must come first.
        self._require_connection()
        assert self._user_id is not None, "exported before the login completed"
        return make_session_string(self._user_id)
