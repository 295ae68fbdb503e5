"""What every fake server in the tests is: an aiohttp app on 127.0.0.1, on a port the OS picks."""

from __future__ import annotations

from typing import Any

from aiohttp import web


class LoopbackServer:
    """Subclasses add their routes in `routes(app)`; `start()` returns `base_url`."""

    shutdown_timeout = 0.1
    handler_cancellation = False

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self) -> str:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(
            app,
            access_log=None,
            handler_cancellation=self.handler_cancellation,
            shutdown_timeout=self.shutdown_timeout,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server: Any = site._server  # the bound socket tells the port the OS picked
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Any:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
