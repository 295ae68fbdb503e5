"""Fake Telegram: user accounts, prospects and the login dance, all in memory.

Implements AccountConnections, TelegramMessenger, MediaFiles, SpamBot and TelegramLogin.
Tests script failures with `fail_next(account_id, error)`, play a prospect with
`deliver(...)` (a voice note, photo... with `media=`, its bytes in `files`), the operator
typing in the Telegram app with `write_from_app(...)` and a stand-in @SpamBot with
`spam_bot_answers`.

Like Telegram, every new message of an account's chats moves the account's update state
(pts) on by one, and a message is pushed once, to the client connected at that moment: one
written while the account is not connected comes back only through the difference (a
client connected from an earlier state is given everything after it) or the chat's
history. The state keeper is told each state once the handlers are done with its message.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections import Counter, defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from salesbot.application.errors import (
    AccountDeactivated,
    AccountNotConnected,
    CodeInvalid,
    CredentialsRejected,
    NoLoginInProgress,
    PasswordInvalid,
    PhoneBanned,
    PhoneNumberRejected,
    RecipientUnreachable,
    SessionInvalid,
    TelegramUnavailable,
)
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
from salesbot.domain.media import Media
from salesbot.domain.peer import Peer


class SimulatedCrash(BaseException):
    """The process dies mid-call (`kill -9`): nothing after it runs, no handler catches it."""


@dataclass(frozen=True)
class FakeSent:
    account_id: int
    user_id: int
    text: str
    telegram_message_id: int


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class FakeTelegram:
    def __init__(self, clock: object | None = None) -> None:
        self._clock = clock
        self.users: dict[str, int] = {}
        self.unreachable: dict[int, str] = {}
        self.revoked_sessions: set[str] = set()
        self.banned_sessions: set[str] = set()
        self.unavailable_sessions: set[str] = set()
        self.hanging_sessions: set[str] = set()
        self.api_id_rejected = False
        """Telegram answers every connect API_ID_INVALID (the app's API_ID/API_HASH)."""
        self._connected: dict[int, Account] = {}
        self.loaded_peers: dict[int, list[Peer]] = {}
        self._handlers: list[IncomingHandler] = []
        self._keepers: list[StateKeeper] = []
        self._handing: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._pts: dict[int, int] = defaultdict(int)
        self._updates: dict[int, list[tuple[int, IncomingMessage]]] = defaultdict(list)
        self.states_given: dict[int, UpdateState | None] = {}
        """The state each account's client was last started from."""
        self.calls: dict[int, Counter[str]] = defaultdict(Counter)
        """Per account, the calls made for its chats ("difference", "dialogs", "history")."""
        self._failures: dict[int, deque[tuple[str | None, Exception]]] = defaultdict(deque)
        self._after_send: dict[int, deque[BaseException]] = defaultdict(deque)
        self._ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self.history: dict[tuple[int, int], list[ChatHistoryItem]] = defaultdict(list)
        self.sent: list[FakeSent] = []
        self.resolves: list[tuple[int, str]] = []
        self.typing: list[tuple[int, int]] = []
        self.read: list[tuple[int, int]] = []
        self.connects: list[int] = []
        self.login_codes: dict[str, str] = {}
        self.login_passwords: dict[str, str] = {}
        self.rejected_phones: set[str] = set()
        self.banned_phones: set[str] = set()
        self._logins: dict[str, str] = {}
        self.send_gate: asyncio.Event | None = None
        self.files: dict[str, bytes] = {}
        """Received files by file_id, for `download`."""
        self.downloads: list[tuple[int, str]] = []
        self.spam_bot_answers: dict[int, str] = {}
        """A stand-in @SpamBot: what it answers /start from each account (none: silence,
        which the adapter reports as TelegramUnavailable)."""
        self.spam_bot_asked: list[int] = []

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else _utc_now()  # type: ignore[attr-defined]

    # --- test controls -------------------------------------------------------------------

    def add_user(self, username: str, user_id: int, *, unreachable: str | None = None) -> None:
        self.users[username.lower()] = user_id
        if unreachable:
            self.unreachable[user_id] = unreachable

    def fail_next(self, account_id: int, error: Exception, *, on: str | None = None) -> None:
        """The account's next send, typing, read, history or resolve call raises `error`;
        with `on` ("send", "typing", "read", "history", "resolve", "spam_bot") only the next
        such call."""
        self._failures[account_id].append((on, error))

    def fail_after_send(self, account_id: int, error: BaseException) -> None:
        """The account's next send reaches the prospect, then `error` is raised instead of
        the answer (a lost answer: TelegramUnavailable; a crash: SimulatedCrash)."""
        self._after_send[account_id].append(error)

    async def deliver(
        self,
        account_id: int,
        user_id: int,
        text: str,
        *,
        username: str | None = None,
        media: Media | None = None,
    ) -> IncomingMessage:
        """The prospect `user_id` writes `text` to the account (with `media`: sends a voice
        note, photo... with `text` as its caption); a connected client's handlers see it at
        once."""
        return await self._new_message(
            account_id, user_id, text, username, outgoing=False, media=media
        )

    async def write_from_app(
        self, account_id: int, user_id: int, text: str, *, username: str | None = None
    ) -> IncomingMessage:
        """Someone types `text` to `user_id` in the Telegram app, logged in as the account."""
        return await self._new_message(account_id, user_id, text, username, outgoing=True)

    async def _new_message(
        self,
        account_id: int,
        user_id: int,
        text: str,
        username: str | None,
        *,
        outgoing: bool,
        media: Media | None = None,
    ) -> IncomingMessage:
        message_id = next(self._ids[account_id])
        now = self._now()
        self.history[(account_id, user_id)].append(
            ChatHistoryItem(
                telegram_message_id=message_id,
                outgoing=outgoing,
                text=text,
                date=now,
                media=media,
            )
        )
        message = IncomingMessage(
            account_id=account_id,
            user_id=user_id,
            username=username,
            text=text,
            telegram_message_id=message_id,
            date=now,
            outgoing=outgoing,
            media=media,
        )
        pts = self._advance(account_id, message)
        if account_id in self._connected:
            await self._hand_over(account_id, [(pts, message)])
        return message

    def _advance(self, account_id: int, message: IncomingMessage) -> int:
        self._pts[account_id] += 1
        self._updates[account_id].append((self._pts[account_id], message))
        return self._pts[account_id]

    def _state(self, pts: int) -> UpdateState:
        return UpdateState(pts=pts, qts=0, date=int(self._now().timestamp()), seq=0)

    async def _hand_over(self, account_id: int, updates: list[tuple[int, IncomingMessage]]) -> None:
        # One at a time per account, in order, as a client's handler worker does.
        async with self._handing[account_id]:
            for pts, message in updates:
                for handler in list(self._handlers):
                    await handler(message)
                if account_id in self._connected:
                    for keeper in self._keepers:
                        keeper(account_id, self._state(pts))

    async def process_died(self) -> None:
        """The process using these clients is gone: every account disconnects and its
        subscribers hear nothing more (a restarted process subscribes anew)."""
        for account_id in list(self._connected):
            await self.disconnect(account_id)
        self._handlers.clear()
        self._keepers.clear()

    def forget_history(self, account_id: int) -> None:
        """Telegram no longer gives a difference from an old state (DifferenceTooLong): a
        client started from one skips to now, and only the chats' history still holds what
        came meanwhile."""
        self._updates[account_id].clear()

    def sent_to(self, user_id: int) -> list[str]:
        return [item.text for item in self.sent if item.user_id == user_id]

    # --- AccountConnections --------------------------------------------------------------

    async def connect(
        self, account: Account, peers: Sequence[Peer], state: UpdateState | None = None
    ) -> None:
        assert account.id is not None
        self.connects.append(account.id)
        if self.api_id_rejected:
            raise CredentialsRejected("API_ID/API_HASH", "API_ID_INVALID at connect")
        if account.session_string in self.revoked_sessions:
            raise SessionInvalid("session revoked")
        if account.session_string in self.banned_sessions:
            raise AccountDeactivated("account banned")
        if account.session_string in self.unavailable_sessions:
            raise TelegramUnavailable("network down")
        if account.session_string in self.hanging_sessions:
            await asyncio.Event().wait()
        self._connected[account.id] = account
        self.loaded_peers[account.id] = list(peers)
        self.states_given[account.id] = state
        if state is None:  # a new client starts from now
            for keeper in self._keepers:
                keeper(account.id, self._state(self._pts[account.id]))
            return
        self.calls[account.id]["difference"] += 1
        missed = [(pts, m) for pts, m in self._updates[account.id] if pts > state.pts]
        if not missed and self._pts[account.id] > state.pts:  # too long ago: skip to now
            for keeper in self._keepers:
                keeper(account.id, self._state(self._pts[account.id]))
        await self._hand_over(account.id, missed)

    async def disconnect(self, account_id: int) -> None:
        self._connected.pop(account_id, None)

    def connected(self) -> frozenset[int]:
        return frozenset(self._connected)

    def subscribe(self, handler: IncomingHandler) -> None:
        self._handlers.append(handler)

    def keep_state(self, keeper: StateKeeper) -> None:
        self._keepers.append(keeper)

    # --- TelegramMessenger ---------------------------------------------------------------

    def _check(self, account_id: int, call: str) -> None:
        if account_id not in self._connected:
            raise AccountNotConnected(account_id)
        failures = self._failures[account_id]
        for index, (on, error) in enumerate(failures):
            if on is None or on == call:
                del failures[index]
                raise error

    async def resolve_username(self, account_id: int, username: str) -> Peer:
        self._check(account_id, "resolve")
        self.resolves.append((account_id, username))
        user_id = self.users.get(username.lower())
        if user_id is None:
            raise RecipientUnreachable(RecipientUnreachable.NOT_FOUND, f"@{username}")
        return Peer(
            account_id=account_id,
            username=username.lower(),
            user_id=user_id,
            access_hash=hash((account_id, user_id)) & 0x7FFFFFFFFFFFFFFF,
        )

    async def send_message(self, account_id: int, peer: Peer, text: str) -> SentMessage:
        self._check(account_id, "send")
        if peer.user_id in self.unreachable:
            raise RecipientUnreachable(self.unreachable[peer.user_id])
        if self.send_gate is not None:
            await self.send_gate.wait()
        message_id = next(self._ids[account_id])
        now = self._now()
        self.sent.append(FakeSent(account_id, peer.user_id, text, message_id))
        self.history[(account_id, peer.user_id)].append(
            ChatHistoryItem(telegram_message_id=message_id, outgoing=True, text=text, date=now)
        )
        # In the difference, not pushed: the sending client has its answer.
        self._advance(
            account_id,
            IncomingMessage(account_id, peer.user_id, peer.username, text, message_id, now, True),
        )
        if self._after_send[account_id]:
            raise self._after_send[account_id].popleft()
        return SentMessage(telegram_message_id=message_id, date=now)

    async def send_typing(self, account_id: int, peer: Peer) -> None:
        self._check(account_id, "typing")
        self.typing.append((account_id, peer.user_id))

    async def mark_read(self, account_id: int, peer: Peer) -> None:
        self._check(account_id, "read")
        self.read.append((account_id, peer.user_id))

    async def recent_messages(
        self, account_id: int, peer: Peer, *, limit: int = 50
    ) -> list[ChatHistoryItem]:
        self._check(account_id, "history")
        self.calls[account_id]["history"] += 1
        return list(reversed(self.history[(account_id, peer.user_id)]))[:limit]

    async def newest_message_ids(self, account_id: int, peers: Sequence[Peer]) -> dict[int, int]:
        self._check(account_id, "dialogs")
        found: dict[int, int] = {}
        for start in range(0, len(peers), 100):
            self.calls[account_id]["dialogs"] += 1
            for peer in peers[start : start + 100]:
                chat = self.history.get((account_id, peer.user_id))
                if chat:
                    found[peer.user_id] = chat[-1].telegram_message_id
        return found

    # --- SpamBot -------------------------------------------------------------------------

    async def ask_spam_bot(self, account_id: int) -> str:
        self._check(account_id, "spam_bot")
        self.spam_bot_asked.append(account_id)
        answer = self.spam_bot_answers.get(account_id)
        if answer is None:
            raise TelegramUnavailable("@spambot did not answer within 15 s")
        return answer

    # --- MediaFiles ----------------------------------------------------------------------

    async def download(self, account_id: int, media: Media, *, max_bytes: int) -> bytes:
        self._check(account_id, "download")
        self.downloads.append((account_id, media.file_id or ""))
        if media.file_id not in self.files:
            raise TelegramUnavailable(f"no file {media.file_id}")
        return self.files[media.file_id]

    # --- TelegramLogin -------------------------------------------------------------------

    async def begin_login(self, phone: str, *, proxy: str | None = None) -> None:
        if phone in self.rejected_phones:
            raise PhoneNumberRejected(phone)
        if phone in self.banned_phones:
            raise PhoneBanned(phone)
        self._logins[phone] = "code"

    async def submit_code(self, phone: str, code: str) -> LoginProgress:
        if self._logins.get(phone) != "code":
            raise NoLoginInProgress(phone)
        digits = re.sub(r"\D", "", code)
        if digits != self.login_codes.get(phone, "12345"):
            raise CodeInvalid(phone)
        if phone in self.login_passwords:
            self._logins[phone] = "password"
            return LoginProgress(password_required=True)
        del self._logins[phone]
        return LoginProgress(session_string=f"session-for-{phone}")

    async def submit_password(self, phone: str, password: str) -> LoginProgress:
        if self._logins.get(phone) != "password":
            raise NoLoginInProgress(phone)
        if password != self.login_passwords[phone]:
            raise PasswordInvalid(phone)
        del self._logins[phone]
        return LoginProgress(session_string=f"session-for-{phone}")

    async def cancel_login(self, phone: str) -> None:
        self._logins.pop(phone, None)
