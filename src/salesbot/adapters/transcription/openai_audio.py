"""An OpenAI-compatible `/audio/transcriptions` endpoint as the Transcriber port.

One multipart POST per file (`file`, `model`, `response_format=json`); the answer's `text`
is the transcript. Voice notes are rare next to text, so each transcription opens its own
`httpx.AsyncClient` (unless one is given): nothing stays open to close at shutdown. Not
retried: a voice note that cannot be transcribed now is kept as its description, which
loses nothing. Every failure is a `TranscriptionFailed` naming the host and the
status, never the key.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import httpx

from salesbot.application.errors import TranscriptionFailed

log = logging.getLogger(__name__)

DEFAULT_MODEL = "whisper-1"
_DETAIL_LIMIT = 200


class OpenAITranscriber:
    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        model: str = DEFAULT_MODEL,
        timeout: float = 120.0,
        connect_timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._url = base_url.rstrip("/") + "/audio/transcriptions"
        self._host = urlsplit(base_url).hostname or base_url
        self._model = model
        self._headers = {"Accept": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._client = client
        self._timeout = httpx.Timeout(timeout, connect=min(connect_timeout, timeout))

    async def transcribe(self, audio: bytes, *, file_name: str, mime_type: str) -> str:
        try:
            if self._client is not None:
                response = await self._post(self._client, audio, file_name, mime_type)
            else:
                async with httpx.AsyncClient(timeout=self._timeout) as client:
                    response = await self._post(client, audio, file_name, mime_type)
        except httpx.HTTPError as error:
            raise TranscriptionFailed(f"{self._host}: {type(error).__name__}") from None
        if response.status_code >= 400:
            detail = " ".join(response.text.split())[:_DETAIL_LIMIT]
            raise TranscriptionFailed(f"{self._host} answered {response.status_code}: {detail}")
        try:
            body = response.json()
            text = body["text"]
        except (ValueError, KeyError, TypeError):
            raise TranscriptionFailed(f"{self._host}: the answer holds no text") from None
        if not isinstance(text, str):
            raise TranscriptionFailed(f"{self._host}: the answer holds no text")
        return text

    async def _post(
        self, client: httpx.AsyncClient, audio: bytes, file_name: str, mime_type: str
    ) -> httpx.Response:
        return await client.post(
            self._url,
            headers=self._headers,
            data={"model": self._model, "response_format": "json"},
            files={"file": (file_name, audio, mime_type)},
        )
