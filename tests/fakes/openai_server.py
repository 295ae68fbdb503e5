"""A fake OpenAI-compatible chat completions server on 127.0.0.1 (aiohttp, real sockets).

It records every request and plays scripted responses in order: a status code, headers
(Retry-After), a delay, and a body that may be a chat completion, an error object or bytes
that are not JSON at all. When the script is empty it answers with `default`, which may be
a function of the request (the rehearsal test uses one to play a whole conversation).
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import LoopbackServer


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    client_port: int = 0  # the client's side of the TCP connection: same port, same connection

    @property
    def messages(self) -> list[dict[str, str]]:
        return list(self.body.get("messages", [])) if isinstance(self.body, dict) else []


@dataclass(frozen=True)
class Scripted:
    status: int = 200
    body: Any = None  # dict/list -> JSON, str/bytes -> sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Responder = Callable[[RecordedRequest], Scripted]


def completion(
    text: str,
    *,
    model: str = "fake/model",
    prompt_tokens: int = 120,
    completion_tokens: int = 30,
    cost: float | None = 0.000123,
    cached_tokens: int | None = None,
) -> Scripted:
    """A successful chat completion as OpenRouter sends it."""
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if cached_tokens is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached_tokens, "cache_write_tokens": 0}
    if cost is not None:
        usage["cost"] = cost
    return Scripted(
        body={
            "id": "gen-fake",
            "object": "chat.completion",
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": text},
                }
            ],
            "usage": usage,
        }
    )


def error(status: int, message: str, **headers: str) -> Scripted:
    """An error as OpenRouter sends it: `{"error": {"code", "message"}}`."""
    return Scripted(
        status=status,
        body={"error": {"code": status, "message": message}},
        headers={k.replace("_", "-"): v for k, v in headers.items()},
    )


class FakeOpenAIServer(LoopbackServer):
    def __init__(self, default: Scripted | Responder | None = None) -> None:
        super().__init__()
        self.requests: list[RecordedRequest] = []
        self.default = default
        self._script: deque[Scripted] = deque()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    def queue(self, *responses: Scripted) -> None:
        self._script.extend(responses)

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self._handle)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        peer = request.transport.get_extra_info("peername") if request.transport else None
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            headers=dict(request.headers),
            body=body,
            client_port=peer[1] if peer else 0,
        )
        self.requests.append(recorded)
        if self._script:
            scripted = self._script.popleft()
        elif callable(self.default):
            scripted = self.default(recorded)
        elif self.default is not None:
            scripted = self.default
        else:
            scripted = error(500, "the fake server has no response scripted")
        if scripted.delay:
            await asyncio.sleep(scripted.delay)
        payload = scripted.body
        if isinstance(payload, (dict, list)):
            data = json.dumps(payload).encode()
            content_type = "application/json"
        elif isinstance(payload, str):
            data = payload.encode()
            content_type = "application/json"
        else:
            data = payload or b""
            content_type = "application/json"
        return web.Response(
            status=scripted.status,
            body=data,
            headers={"Content-Type": content_type, **scripted.headers},
        )


def key_and_models(
    key: str,
    models: Sequence[str],
    *,
    limit: float | None = 5.0,
    usage: float = 0.1,
    tells_the_key: bool = True,
) -> Responder:
    """`GET /key` and `GET /models` as OpenRouter answers them (401 to any other key); with
    `tells_the_key=False`, as an OpenAI-compatible server that has no `/key` (404)."""

    def respond(request: RecordedRequest) -> Scripted:
        if request.headers.get("Authorization") != f"Bearer {key}":
            return error(401, "No auth credentials found")
        if request.method == "GET" and request.path.endswith("/key") and tells_the_key:
            remaining = None if limit is None else limit - usage
            return Scripted(
                body={
                    "data": {
                        "label": "sk-or-v1-abc...def",
                        "limit": limit,
                        "usage": usage,
                        "limit_remaining": remaining,
                        "is_free_tier": False,
                    }
                }
            )
        if request.method == "GET" and request.path.endswith("/models"):
            return Scripted(body={"data": [{"id": model} for model in models]})
        return error(404, "Not Found")

    return respond
