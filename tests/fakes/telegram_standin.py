"""The Telegram stand-in server the end-to-end test runs on 127.0.0.1 (aiohttp).

`salesbot run` started with `SALESBOT_TELEGRAM_STANDIN=<base_url>` talks to it through
`tests.fakes.standin_client.StandinTelegram` instead of Telegram. It lives in the
test process, so it outlives restarts and `kill -9` of salesbot: the test plays the
prospects (`write`), sees what was sent (`sent`), logs accounts in with code 12345 (typed
any way) and can freeze a send (`hold_sends`) after Telegram took the message ("after":
a crash then must not turn into a duplicate) or before it did ("before": a crash then must
not turn into a loss).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from tests.fakes.loopback import LoopbackServer

LOGIN_CODE = "12345"


@dataclass(frozen=True)
class Sent:
    account_id: int
    user_id: int
    username: str
    text: str
    telegram_message_id: int


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
        self.updates: list[dict[str, Any]] = []
        self.hold_sends: str | None = None  # "before" or "after" Telegram takes the message
        self.send_held = asyncio.Event()
        self._logins: dict[str, str] = {}
        self._message_ids: dict[int, itertools.count[int]] = defaultdict(
            lambda: itertools.count(1)
        )
        self._update_ids = itertools.count(1)
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
        user_id = self.users[username.lower()]
        if account_id is None:
            account_id = next(s.account_id for s in reversed(self.sent) if s.user_id == user_id)
        message_id = next(self._message_ids[account_id])
        now = datetime.now(timezone.utc).isoformat()
        self.history[(account_id, user_id)].append(
            {"telegram_message_id": message_id, "outgoing": False, "text": text, "date": now}
        )
        async with self._changed:
            self.updates.append(
                {
                    "update_id": next(self._update_ids),
                    "account_id": account_id,
                    "user_id": user_id,
                    "username": username.lower(),
                    "text": text,
                    "telegram_message_id": message_id,
                    "date": now,
                }
            )
            self._changed.notify_all()

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
            result = await handler(**body)
        except Refusal as refusal:
            return web.json_response({"error": refusal.error, "args": refusal.args_}, status=400)
        return web.json_response({"result": result})

    def _require(self, account_id: int) -> None:
        if account_id not in self.connected:
            raise Refusal("AccountNotConnected", account_id=account_id)

    async def _do_connect(
        self, account_id: int, phone: str, session_string: str, peers: list[Any]
    ) -> bool:
        if session_string != f"standin-session:{phone}":
            raise Refusal("SessionInvalid", message="unknown session")
        self.connected[account_id] = phone
        self.connects.append(account_id)
        await self._touch()
        return True

    async def _do_disconnect(self, account_id: int) -> bool:
        self.connected.pop(account_id, None)
        return True

    async def _do_updates(self, offset: int, timeout: float) -> list[dict[str, Any]]:
        def fresh() -> list[dict[str, Any]]:
            return [u for u in self.updates if u["update_id"] >= offset]

        async with self._changed:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait_for(lambda: bool(fresh())), timeout)
            return fresh()

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
            self.sent.append(Sent(account_id, user_id, peer["username"], text, message_id))
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
        return list(reversed(self.history[(account_id, peer["user_id"])]))[:limit]

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
