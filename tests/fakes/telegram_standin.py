"""The Telegram stand-in server the end-to-end test runs on 127.0.0.1 (aiohttp).

`salesbot run` started with `SALESBOT_TELEGRAM_STANDIN=<base_url>` talks to it through
`tests.fakes.standin_client.StandinTelegram` instead of Telegram. It lives in the
test process, so it outlives restarts and `kill -9` of salesbot: the test plays the
prospects (`write`) and the operator typing in the Telegram app (`write_from_app`), sees
what was sent (`sent`), logs accounts in with code 12345 (typed any way) and can freeze a
send (`hold_sends`) after Telegram took the message ("after": a crash then must not turn
into a duplicate) or before it did ("before": a crash then must not turn into a loss).

It keeps updates as Telegram does where it matters: every new message in an account's
chats moves the account's pts on by one; an update is pushed once, to the session the
account is connected from at that moment, and is gone from the push stream once a poll
returned it (whether or not the receiver lived to handle it). Afterwards only the
difference (a client connecting from an earlier state is given every update after it) or
the chat's history brings it back. `forget_updates` makes a difference from before
impossible (Telegram's DifferenceTooLong): a client then skips to now.

A session is live while its client polls (a killed process's poll is cut with its TCP
connection, as Telegram sees it): an account connected from a second session while the
first is still live is what Telegram answers with AUTH_KEY_DUPLICATED, and is recorded in
`doubles` so that a test can show it never happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from tests.fakes.loopback import LoopbackServer

LOGIN_CODE = "12345"
LIVE_BETWEEN_POLLS = 1.0
"""A session not polling counts as live this long after its last poll ended."""
POLL_CHECK = 0.05
"""How often a waiting poll looks whether its connection was cut."""


def _cut(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


@dataclass(frozen=True)
class Sent:
    account_id: int
    user_id: int
    username: str
    text: str
    telegram_message_id: int
    at: float = 0.0
    """When Telegram took it (time.monotonic())."""


class Refusal(Exception):
    def __init__(self, error: str, **args: Any) -> None:
        super().__init__(error)
        self.error = error
        self.args_ = args


class TelegramStandin(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.users: dict[str, int] = {}
        self.passwords: dict[str, str] = {}
        self.connected: dict[int, str] = {}
        self.connects: list[int] = []
        self.resolves: list[tuple[int, str]] = []
        self.sent: list[Sent] = []
        self.history: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
        self.pts: dict[int, int] = defaultdict(int)
        self.log: dict[int, list[dict[str, Any]]] = defaultdict(list)
        """Every update of each account, by pts: what a difference is made of."""
        self.sessions: dict[int, str] = {}
        """The session each connected account's updates are pushed to."""
        self.pushed: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.doubles: list[tuple[int, str, str]] = []
        """(account, live session, second session) for each connect made while the account
        was live in another session."""
        self.connects_by_session: list[tuple[int, str]] = []
        self._polling: dict[str, int] = defaultdict(int)
        self._last_poll: dict[str, float] = {}
        self.calls: dict[int, list[str]] = defaultdict(list)
        """Per account, the calls for its chats: "difference", "dialogs", "history"."""
        self.hold_sends: str | None = None  # "before" or "after" Telegram takes the message
        self.send_held = asyncio.Event()
        self._logins: dict[str, str] = {}
        self._message_ids: dict[int, itertools.count[int]] = defaultdict(
            lambda: itertools.count(1)
        )
        self._changed = asyncio.Condition()

    # --- the test's side -----------------------------------------------------------------

    def add_user(self, username: str, user_id: int) -> None:
        self.users[username.lower()] = user_id

    def username_of(self, user_id: int) -> str:
        return next(name for name, uid in self.users.items() if uid == user_id)

    def sent_to(self, username: str) -> list[str]:
        user_id = self.users[username.lower()]
        return [item.text for item in self.sent if item.user_id == user_id]

    async def write(self, username: str, text: str, *, account_id: int | None = None) -> None:
        """The prospect writes to the account that wrote to them (or to `account_id`)."""
        await self._new_message(username, text, account_id, outgoing=False)

    async def write_from_app(self, username: str, text: str, *, account_id: int) -> None:
        """Someone types to the prospect in the Telegram app, logged in as the account."""
        await self._new_message(username, text, account_id, outgoing=True)

    def forget_updates(self, account_id: int) -> None:
        """A difference from any earlier state is now too long for Telegram to give."""
        self.log[account_id].clear()

    async def _new_message(
        self, username: str, text: str, account_id: int | None, *, outgoing: bool
    ) -> None:
        user_id = self.users[username.lower()]
        if account_id is None:
            account_id = next(s.account_id for s in reversed(self.sent) if s.user_id == user_id)
        message_id = next(self._message_ids[account_id])
        now = datetime.now(timezone.utc).isoformat()
        self.history[(account_id, user_id)].append(
            {"telegram_message_id": message_id, "outgoing": outgoing, "text": text, "date": now}
        )
        update = {
            "account_id": account_id,
            "user_id": user_id,
            "username": username.lower(),
            "text": text,
            "telegram_message_id": message_id,
            "date": now,
            "outgoing": outgoing,
        }
        async with self._changed:
            self._advance(account_id, update, push=True)
            self._changed.notify_all()

    def _advance(self, account_id: int, update: dict[str, Any], *, push: bool) -> None:
        self.pts[account_id] += 1
        update = {**update, "pts": self.pts[account_id]}
        self.log[account_id].append(update)
        session = self.sessions.get(account_id)
        if push and session is not None:
            self.pushed[session].append(update)

    def _state(self, account_id: int) -> dict[str, int]:
        return {"pts": self.pts[account_id], "qts": 0, "date": int(time.time()), "seq": 0}

    async def wait_until(self, predicate: Any, timeout: float = 20.0) -> None:
        async def waiting() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        await asyncio.wait_for(waiting(), timeout)

    async def wait_sent(self, count: int, timeout: float = 20.0) -> list[Sent]:
        await self.wait_until(lambda: len(self.sent) >= count, timeout)
        return list(self.sent)

    async def _touch(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- the server ----------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/{method}", self._handle)

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await request.json()
        handler = getattr(self, f"_do_{method}", None)
        if handler is None:
            return web.json_response({"error": "NotFound", "args": {"method": method}}, status=404)
        try:
            if method == "updates":
                result = await self._do_updates(**body, request=request)
            else:
                result = await handler(**body)
        except Refusal as refusal:
            return web.json_response({"error": refusal.error, "args": refusal.args_}, status=400)
        return web.json_response({"result": result})

    def _require(self, account_id: int) -> None:
        if account_id not in self.connected:
            raise Refusal("AccountNotConnected", account_id=account_id)

    async def _do_connect(
        self,
        account_id: int,
        phone: str,
        session_string: str,
        peers: list[Any],
        session: str,
        state: dict[str, int] | None = None,
    ) -> dict[str, Any]:
        if session_string != f"standin-session:{phone}":
            raise Refusal("SessionInvalid", message="unknown session")
        live = self.sessions.get(account_id)
        if live is not None and live != session and self.is_live(live):
            self.doubles.append((account_id, live, session))
        self.connected[account_id] = phone
        self.sessions[account_id] = session
        self.connects.append(account_id)
        self.connects_by_session.append((account_id, session))
        await self._touch()
        if state is None:  # a new client starts from now
            return {"state": self._state(account_id)}
        self.calls[account_id].append("difference")
        missed = [u for u in self.log[account_id] if u["pts"] > state["pts"]]
        return {"state": self._state(account_id), "difference": missed}

    async def _do_disconnect(self, account_id: int, session: str) -> bool:
        if self.sessions.get(account_id) == session:
            self.connected.pop(account_id, None)
            del self.sessions[account_id]
        return True

    def is_live(self, session: str) -> bool:
        """Polling now, or between two polls (a client polls again at once)."""
        if self._polling[session]:
            return True
        last = self._last_poll.get(session)
        return last is not None and time.monotonic() - last < LIVE_BETWEEN_POLLS

    async def _do_updates(
        self, session: str, timeout: float, request: web.Request | None = None
    ) -> list[dict[str, Any]]:
        """What was pushed to the session since its last poll, each update once. A poll
        whose connection closes (the process was killed) ends the session's life at once."""
        self._polling[session] += 1
        cut = False
        try:
            deadline = time.monotonic() + timeout
            async with self._changed:
                while not self.pushed[session] and time.monotonic() < deadline:
                    if request is not None and _cut(request):
                        cut = True
                        return []
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), POLL_CHECK)
                updates, self.pushed[session] = self.pushed[session], []
                return updates
        finally:
            self._polling[session] -= 1
            if cut:
                self._last_poll.pop(session, None)
            else:
                self._last_poll[session] = time.monotonic()

    async def _do_resolve_username(self, account_id: int, username: str) -> dict[str, Any]:
        self._require(account_id)
        self.resolves.append((account_id, username))
        user_id = self.users.get(username.lower())
        if user_id is None:
            raise Refusal("RecipientUnreachable", reason="not_found")
        return {"username": username.lower(), "user_id": user_id, "access_hash": user_id * 7}

    async def _do_send_message(self, account_id: int, peer: dict[str, Any], text: str) -> Any:
        self._require(account_id)
        if self.hold_sends == "before":
            # The request never reaches Telegram; the sender is killed while it waits.
            self.send_held.set()
            await asyncio.Event().wait()
        user_id = peer["user_id"]
        message_id = next(self._message_ids[account_id])
        now = datetime.now(timezone.utc).isoformat()
        self.history[(account_id, user_id)].append(
            {"telegram_message_id": message_id, "outgoing": True, "text": text, "date": now}
        )
        async with self._changed:
            self.sent.append(
                Sent(account_id, user_id, peer["username"], text, message_id, time.monotonic())
            )
            # In the difference, not pushed: the sending session has its answer.
            self._advance(
                account_id,
                {
                    "account_id": account_id,
                    "user_id": user_id,
                    "username": peer["username"],
                    "text": text,
                    "telegram_message_id": message_id,
                    "date": now,
                    "outgoing": True,
                },
                push=False,
            )
            self._changed.notify_all()
        if self.hold_sends == "after":
            # Telegram has the message; the sender never hears back (it gets killed now).
            self.send_held.set()
            await asyncio.Event().wait()
        return {"telegram_message_id": message_id, "date": now}

    async def _do_send_typing(self, account_id: int, peer: dict[str, Any]) -> bool:
        self._require(account_id)
        return True

    async def _do_mark_read(self, account_id: int, peer: dict[str, Any]) -> bool:
        self._require(account_id)
        return True

    async def _do_recent_messages(
        self, account_id: int, peer: dict[str, Any], limit: int
    ) -> list[dict[str, Any]]:
        self._require(account_id)
        self.calls[account_id].append("history")
        return list(reversed(self.history[(account_id, peer["user_id"])]))[:limit]

    async def _do_newest_message_ids(
        self, account_id: int, user_ids: list[int]
    ) -> dict[str, int]:
        self._require(account_id)
        self.calls[account_id].append("dialogs")
        return {
            str(user_id): self.history[(account_id, user_id)][-1]["telegram_message_id"]
            for user_id in user_ids
            if self.history.get((account_id, user_id))
        }

    async def _do_begin_login(self, phone: str, proxy: str | None = None) -> bool:
        self._logins[phone] = "code"
        return True

    async def _do_submit_code(self, phone: str, code: str) -> dict[str, Any]:
        if self._logins.get(phone) != "code":
            raise Refusal("NoLoginInProgress", message=phone)
        if re.sub(r"\D", "", code) != LOGIN_CODE:
            raise Refusal("CodeInvalid", message=phone)
        if phone in self.passwords:
            self._logins[phone] = "password"
            return {"password_required": True}
        del self._logins[phone]
        return {"session_string": f"standin-session:{phone}"}

    async def _do_submit_password(self, phone: str, password: str) -> dict[str, Any]:
        if self._logins.get(phone) != "password":
            raise Refusal("NoLoginInProgress", message=phone)
        if password != self.passwords[phone]:
            raise Refusal("PasswordInvalid", message=phone)
        del self._logins[phone]
        return {"session_string": f"standin-session:{phone}"}

    async def _do_cancel_login(self, phone: str) -> bool:
        self._logins.pop(phone, None)
        return True
