"""A CRM's webhook receiver on 127.0.0.1 (aiohttp, a real socket): it records each request
as it came (the raw body, for checking its signature) and answers with the status it is
told to; stopped, its port refuses connections, and it starts again on the same port."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.loopback import LoopbackServer


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    raw: bytes
    status: int
    """What the receiver answered."""

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.raw)
        return parsed


class FakeWebhookReceiver(LoopbackServer):
    def __init__(self, path: str = "/hook") -> None:
        super().__init__()
        self.path = path
        self.status = 200
        self.received: list[Received] = []

    @property
    def url(self) -> str:
        return self.base_url + self.path

    def routes(self, app: web.Application) -> None:
        app.router.add_post(self.path, self._handle)

    async def start_again(self) -> None:
        """Listen again on the port it had (connections were refused meanwhile)."""
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    @property
    def taken(self) -> list[Received]:
        """The requests answered 2xx, in the order they came."""
        return [r for r in self.received if 200 <= r.status < 300]

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.received.append(Received(dict(request.headers), raw, self.status))
        return web.Response(status=self.status, text="" if self.status < 300 else "down")
