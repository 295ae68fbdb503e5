"""A TCP proxy in front of the test PostgreSQL server that a test can shut: the database
going away for salesbot (a restart, a network cut) while the test's own connections stay.

    async with DatabaseGate(database_url) as gate:
        engine = create_engine(gate.url)   # salesbot's way to the database
        gate.shut()                        # every connection through it drops, new ones fail
        ...
        gate.open()
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from sqlalchemy.engine import make_url


class DatabaseGate:
    def __init__(self, database_url: str) -> None:
        self._upstream = make_url(database_url)
        self._server: asyncio.AbstractServer | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self.is_open = True
        self.refused = 0
        self.url = ""

    async def __aenter__(self) -> DatabaseGate:
        self._server = await asyncio.start_server(self._connected, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        # The same database and role, reached through the gate (any socket folder in the
        # query goes: the gate is the only way there).
        self.url = self._upstream.set(host="127.0.0.1", port=port, query={}).render_as_string(
            hide_password=False
        )
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.shut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def shut(self) -> None:
        """Drop every connection through the gate; refuse new ones until `open()`."""
        self.is_open = False
        for writer in list(self._links):
            writer.transport.abort()
        self._links.clear()

    def open(self) -> None:
        self.is_open = True

    async def _upstream_connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        socket_folder = self._upstream.query.get("host")
        host = self._upstream.host or ""
        port = self._upstream.port or 5432
        if isinstance(socket_folder, str) or host.startswith("/"):
            folder = socket_folder if isinstance(socket_folder, str) else host
            return await asyncio.open_unix_connection(f"{folder}/.s.PGSQL.{port}")
        return await asyncio.open_connection(host, port)

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.is_open:
            self.refused += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await self._upstream_connection()
        except OSError:
            writer.transport.abort()
            return
        if not self.is_open:  # shut while this one was being connected
            self.refused += 1
            for end in (writer, up_writer):
                end.transport.abort()
            return
        self._links.update({writer, up_writer})
        await asyncio.gather(
            _pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True
        )
        for end in (writer, up_writer):
            self._links.discard(end)
            end.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()
