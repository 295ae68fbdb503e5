"""A fake OpenAI-compatible `/audio/transcriptions` endpoint on 127.0.0.1 (aiohttp).

It reads the multipart upload as OpenAI's server would (`file`, `model`,
`response_format`), records it, and answers the scripted replies in order: a transcript
(`{"text": ...}`), or a status with a body. With the script empty it answers `default`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.loopback import LoopbackServer


@dataclass(frozen=True)
class Upload:
    path: str
    authorization: str | None
    model: str
    response_format: str
    file_name: str
    content_type: str
    audio: bytes


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: Any = None


def transcript(text: str) -> Answer:
    return Answer(body={"text": text})


class FakeTranscriptionServer(LoopbackServer):
    def __init__(self, default: Answer | None = None) -> None:
        super().__init__()
        self.uploads: list[Upload] = []
        self._script: deque[Answer] = deque()
        self.default = default or transcript("")

    def queue(self, *answers: Answer) -> None:
        self._script.extend(answers)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/{prefix:.*}audio/transcriptions", self._transcribe)

    async def _transcribe(self, request: web.Request) -> web.StreamResponse:
        fields: dict[str, str] = {}
        file_name, content_type, audio = "", "", b""
        async for part in await request.multipart():
            if part.name == "file":
                file_name = part.filename or ""
                content_type = part.headers.get("Content-Type", "")
                audio = bytes(await part.read())
            elif part.name:
                fields[part.name] = await part.text()
        self.uploads.append(
            Upload(
                path=request.path,
                authorization=request.headers.get("Authorization"),
                model=fields.get("model", ""),
                response_format=fields.get("response_format", ""),
                file_name=file_name,
                content_type=content_type,
                audio=audio,
            )
        )
        answer = self._script.popleft() if self._script else self.default
        if isinstance(answer.body, (dict, list)):
            return web.json_response(answer.body, status=answer.status)
        return web.Response(status=answer.status, text=str(answer.body or ""))
