"""A fake Telegram Bot API server on 127.0.0.1, for the real python-telegram-bot to poll.

It speaks the HTTP the library speaks (`/bot<token>/<method>`, form-encoded or multipart
parameters, `{"ok": ..., "result": ...}` answers, `/file/bot<token>/<path>` downloads) and
implements what the admin bot uses: getMe (with a username, which CommandHandler needs),
deleteWebhook, getUpdates long polling, sendMessage, sendDocument, sendPhoto, getFile,
deleteMessage, answerCallbackQuery, editMessageText, setMyCommands. Two pollers of one token
get Telegram's 409 Conflict (`conflicts` counts them). Every call is recorded;
tests feed updates (messages, documents, button presses from any user) and wait on
conditions.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import struct
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from tests.fakes.loopback import LoopbackServer

T = TypeVar("T")
Params = dict[str, str]
Files = dict[str, "Upload"]

BOT_ID = 7012345678
BOT_USERNAME = "salesbot_admin_test_bot"
MAX_HOLD = 5.0  # a long poll is never held longer than this, whatever timeout it asks
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)


class _Conflict(Exception):
    """This long poll was ended by a newer getUpdates of the same token."""


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes
    content_type: str


@dataclass
class ApiCall:
    method: str
    params: dict[str, str]
    files: dict[str, Upload] = field(default_factory=dict)
    ok: bool = True
    """False when the server answered this call with an error (see `fail_next`)."""
    result: Any = None
    """What the server answered (e.g. the Message a sendMessage made)."""

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str | None:
        return self.params.get("text")

    def json(self, name: str) -> Any:
        value = self.params.get(name)
        return None if value is None else json.loads(value)

    @property
    def document(self) -> Upload:
        return self.files["document"]

    @property
    def photo(self) -> Upload:
        return self.files["photo"]


class FakeBotApi(LoopbackServer):
    shutdown_timeout = 0.5
    handler_cancellation = True

    def __init__(self, token: str, *, username: str = BOT_USERNAME) -> None:
        super().__init__()
        self.token = token
        self.username = username
        self.calls: list[ApiCall] = []
        self.updates: list[dict[str, Any]] = []
        self.left: list[int] = []
        self.deleted: set[tuple[int, int]] = set()
        self._files: dict[str, tuple[str, bytes]] = {}
        self._failures: dict[str, list[tuple[int, str, float | None]]] = {}
        self._holds: dict[str, asyncio.Event] = {}
        self.held: list[str] = []
        """Methods whose call is waiting for `hold`'s event right now."""
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._closing = asyncio.Event()
        self.conflicts = 0
        """getUpdates calls ended by 409 Conflict because another one came meanwhile."""
        self._poll_generation = 0

    # --- lifecycle -------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)

    async def close(self) -> None:
        self._closing.set()
        async with self._changed:
            self._changed.notify_all()
        await self.stop()

    # --- feeding updates -------------------------------------------------------------------

    def _user(self, user_id: int, username: str | None) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        if username:
            user["username"] = username
        return user

    def _chat(self, chat_id: int) -> dict[str, Any]:
        return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}

    def group_message_update(
        self, user_id: int, text: str, *, chat_id: int = -1001234567890, kind: str = "supergroup"
    ) -> dict[str, Any]:
        """The user writing `text` in a group (or a channel post) where the bot is a member,
        with the next update id, not yet handed out."""
        update = self.message_update(user_id, text)
        update["message"]["chat"] = {"id": chat_id, "type": kind, "title": "Sales team"}
        return update

    def _bot_user(self) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Salesbot", "username": self.username}

    async def _push(self, kind: str, payload: dict[str, Any]) -> None:
        await self.deliver({"update_id": next(self._update_ids), kind: payload})

    async def deliver(self, update: dict[str, Any]) -> None:
        """Hand out `update` as it is (e.g. one from `message_update`, or one Telegram
        gives again because the bot never confirmed it)."""
        self.updates.append(update)
        async with self._changed:
            self._changed.notify_all()

    def message_update(
        self,
        user_id: int,
        text: str,
        *,
        username: str | None = None,
        seconds_ago: int = 0,
    ) -> dict[str, Any]:
        """The update of the user writing `text` to the bot (a leading /command becomes a
        bot_command entity, as Telegram's clients do), with the next update id, not yet
        handed out."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()) - seconds_ago,
            "chat": self._chat(user_id),
            "from": self._user(user_id, username),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return {"update_id": next(self._update_ids), "message": message}

    def reply_update(self, user_id: int, text: str, *, to: dict[str, Any]) -> dict[str, Any]:
        """The user answering the bot's message `to` (a sendMessage result) with Telegram's
        reply: the update carries it as `reply_to_message`."""
        update = self.message_update(user_id, text)
        update["message"]["reply_to_message"] = to
        return update

    async def send_message(
        self,
        user_id: int,
        text: str,
        *,
        username: str | None = None,
        seconds_ago: int = 0,
    ) -> int:
        """The user writes `text` to the bot; returns the message id."""
        update = self.message_update(user_id, text, username=username, seconds_ago=seconds_ago)
        await self.deliver(update)
        return int(update["message"]["message_id"])

    async def send_document(
        self,
        user_id: int,
        filename: str,
        content: bytes,
        *,
        caption: str | None = None,
        mime_type: str = "text/plain",
    ) -> int:
        """The user uploads a file; the bot may fetch it with getFile and a download."""
        message_id = next(self._message_ids)
        file_id = f"upload-{message_id}"
        self._files[file_id] = (filename, content)
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(user_id),
            "from": self._user(user_id, None),
            "document": {
                "file_id": file_id,
                "file_unique_id": f"unique-{file_id}",
                "file_name": filename,
                "mime_type": mime_type,
                "file_size": len(content),
            },
        }
        if caption:
            message["caption"] = caption
            if caption.startswith("/"):
                length = len(caption.split(maxsplit=1)[0])
                message["caption_entities"] = [
                    {"type": "bot_command", "offset": 0, "length": length}
                ]
        await self._push("message", message)
        return message_id

    async def press_button(
        self, user_id: int, message_id: int, data: str, *, text: str = ""
    ) -> None:
        """The user presses an inline button with `data` under the bot's message."""
        await self._push(
            "callback_query",
            {
                "id": f"cbq-{next(self._update_ids)}",
                "from": self._user(user_id, None),
                "chat_instance": f"ci-{user_id}",
                "data": data,
                "message": {
                    "message_id": message_id,
                    "date": int(time.time()),
                    "chat": self._chat(user_id),
                    "from": self._bot_user(),
                    "text": text or "…",
                },
            },
        )

    def fail_next(
        self,
        method: str,
        *,
        error_code: int = 429,
        description: str = "Too Many Requests: retry after 0",
        retry_after: float | None = 0.01,
    ) -> None:
        """The next call of `method` answers with this error instead."""
        self._failures.setdefault(method, []).append((error_code, description, retry_after))

    def hold(self, method: str) -> asyncio.Event:
        """Calls of `method` wait (as a slow upload would) until the returned event is set."""
        return self._holds.setdefault(method, asyncio.Event())

    # --- observing -------------------------------------------------------------------------

    def mark(self) -> int:
        return len(self.calls)

    def since(self, mark: int, methods: Iterable[str] | None = None) -> list[ApiCall]:
        wanted = set(methods) if methods is not None else None
        return [c for c in self.calls[mark:] if wanted is None or c.method in wanted]

    async def wait_for(self, condition: Callable[[], T | None], timeout: float = 5.0) -> T:
        """Wait until `condition()` is truthy (checked on every call the bot makes)."""

        async def until() -> T:
            async with self._changed:
                while True:
                    result = condition()
                    if result:
                        return result
                    await self._changed.wait()

        return await asyncio.wait_for(until(), timeout)

    async def wait_replies(
        self,
        chat_id: int,
        count: int,
        *,
        since: int = 0,
        methods: Iterable[str] = ("sendMessage", "sendDocument"),
        timeout: float = 5.0,
    ) -> list[ApiCall]:
        wanted = tuple(methods)

        def enough() -> list[ApiCall] | None:
            found = [c for c in self.since(since, wanted) if c.chat_id == chat_id and c.ok]
            return found if len(found) >= count else None

        return await self.wait_for(enough, timeout)

    # --- the HTTP side ---------------------------------------------------------------------

    async def _record(self, call: ApiCall) -> None:
        self.calls.append(call)
        async with self._changed:
            self._changed.notify_all()

    async def _read_params(self, request: web.Request) -> tuple[dict[str, str], dict[str, Upload]]:
        params: dict[str, str] = dict(request.query)
        files: dict[str, Upload] = {}
        if request.content_type == "application/json":
            body = await request.json()
            params.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()})
        elif request.can_read_body:
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    files[name] = Upload(
                        filename=value.filename,
                        content=value.file.read(),
                        content_type=value.content_type,
                    )
                else:
                    params[name] = str(value)
        return params, files

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params, files = await self._read_params(request)
        if self._failures.get(method):
            code, description, retry_after = self._failures[method].pop(0)
            await self._record(ApiCall(method, params, files, ok=False))
            return _error(code, description, retry_after)
        call = ApiCall(method, params, files)
        if method in self._holds:
            await self._wait_until_released(method)
        handler = self._methods().get(method)
        if handler is None:
            call.ok = False
            await self._record(call)
            return _error(404, "Not Found: method not found")
        if method == "getUpdates":  # seen when asked, answered when updates arrive
            await self._record(call)
            try:
                call.result = await handler(params, files)
            except _Conflict:
                call.ok = False
                self.conflicts += 1
                return _error(409, CONFLICT)
        else:
            call.result = await handler(params, files)
            await self._record(call)
        return web.json_response({"ok": True, "result": call.result})

    async def _wait_until_released(self, method: str) -> None:
        self.held.append(method)
        async with self._changed:
            self._changed.notify_all()
        try:
            await self._holds[method].wait()
        finally:
            self.held.remove(method)

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        file_id = request.match_info["path"].rsplit("/", 1)[-1]
        if file_id not in self._files:
            return web.Response(status=404)
        return web.Response(body=self._files[file_id][1])

    def _sent(self, params: dict[str, str], **content: Any) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self._chat(int(params["chat_id"])),
            "from": self._bot_user(),
            **content,
        }
        markup = json.loads(params["reply_markup"]) if "reply_markup" in params else None
        if markup and "inline_keyboard" in markup:  # a Message carries inline keyboards only
            message["reply_markup"] = markup
        return message

    # --- methods ---------------------------------------------------------------------------

    def _methods(self) -> dict[str, Callable[[Params, Files], Awaitable[Any]]]:
        return {
            "getMe": self._get_me_method,
            "deleteWebhook": self._delete_webhook_method,
            "setMyCommands": self._set_my_commands_method,
            "getUpdates": self._get_updates_method,
            "sendMessage": self._send_message_method,
            "editMessageText": self._edit_message_text_method,
            "sendDocument": self._send_document_method,
            "sendPhoto": self._send_photo_method,
            "getFile": self._get_file_method,
            "deleteMessage": self._delete_message_method,
            "answerCallbackQuery": self._answer_callback_query_method,
            "leaveChat": self._leave_chat_method,
        }

    async def _get_me_method(self, params: Params, files: Files) -> Any:
        return {
            **self._bot_user(),
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _delete_webhook_method(self, params: Params, files: Files) -> Any:
        return True

    async def _set_my_commands_method(self, params: Params, files: Files) -> Any:
        return True

    async def _get_updates_method(self, params: Params, files: Files) -> Any:
        offset = int(params.get("offset", 0))
        if offset > 0:
            # Like Telegram: an offset confirms every update below it, which is then gone for
            # good, so a restarted bot is not handed what its predecessor already handled.
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        timeout = min(float(params.get("timeout", 0)), MAX_HOLD)
        limit = int(params.get("limit", 100))
        # Like Telegram: a getUpdates arriving while another one waits ends the waiting one
        # with 409 Conflict (two bots polling one token).
        self._poll_generation += 1
        generation = self._poll_generation
        async with self._changed:
            self._changed.notify_all()

        def pending() -> list[dict[str, Any]]:
            return [u for u in self.updates if u["update_id"] >= offset][:limit]

        def superseded() -> bool:
            return self._poll_generation != generation

        if not pending() and timeout > 0 and not self._closing.is_set():

            async def arrival() -> None:
                async with self._changed:
                    while not pending() and not self._closing.is_set() and not superseded():
                        await self._changed.wait()

            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(arrival(), timeout)
        if superseded():
            raise _Conflict
        return pending()

    async def _send_message_method(self, params: Params, files: Files) -> Any:
        return self._sent(params, text=params["text"])

    async def _edit_message_text_method(self, params: Params, files: Files) -> Any:
        message = self._sent(params, text=params["text"])
        message["message_id"] = int(params["message_id"])
        return message

    async def _send_document_method(self, params: Params, files: Files) -> Any:
        upload = files["document"]
        document = {
            "file_id": f"sent-{len(self.calls)}",
            "file_unique_id": f"sent-unique-{len(self.calls)}",
            "file_name": upload.filename,
            "mime_type": upload.content_type,
            "file_size": len(upload.content),
        }
        extra = {"caption": params["caption"]} if "caption" in params else {}
        return self._sent(params, document=document, **extra)

    async def _send_photo_method(self, params: Params, files: Files) -> Any:
        """Like Telegram, the photo comes back as its sizes (here one, the upload's own);
        the upload stays in the call, and can be downloaded by its file id too."""
        upload = files["photo"]
        file_id = f"sent-{len(self.calls)}"
        self._files[file_id] = (upload.filename, upload.content)
        width, height = _png_size(upload.content)
        size = {
            "file_id": file_id,
            "file_unique_id": f"sent-unique-{len(self.calls)}",
            "width": width,
            "height": height,
            "file_size": len(upload.content),
        }
        extra = {"caption": params["caption"]} if "caption" in params else {}
        return self._sent(params, photo=[size], **extra)

    async def _get_file_method(self, params: Params, files: Files) -> Any:
        file_id = params["file_id"]
        _, content = self._files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f"unique-{file_id}",
            "file_size": len(content),
            "file_path": f"documents/{file_id}",
        }

    async def _delete_message_method(self, params: Params, files: Files) -> Any:
        self.deleted.add((int(params["chat_id"]), int(params["message_id"])))
        return True

    async def _answer_callback_query_method(self, params: Params, files: Files) -> Any:
        return True

    async def _leave_chat_method(self, params: Params, files: Files) -> Any:
        self.left.append(int(params["chat_id"]))
        return True


def _png_size(content: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header (0, 0 for anything else)."""
    if content[:8] != PNG_SIGNATURE or len(content) < 24:
        return 0, 0
    width, height = struct.unpack(">II", content[16:24])
    return int(width), int(height)


def _error(code: int, description: str, retry_after: float | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if code == 429 and retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=code)
