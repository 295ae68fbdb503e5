"""OpenAITranscriber over real sockets against a fake `/audio/transcriptions` on 127.0.0.1."""

from __future__ import annotations

import logging

import pytest

from salesbot.adapters.transcription import OpenAITranscriber
from salesbot.application.errors import TranscriptionFailed
from tests.fakes.transcription_server import Answer, FakeTranscriptionServer, transcript

KEY = "sk-transcribe-" + "b" * 32


@pytest.fixture
async def server():
    async with FakeTranscriptionServer() as fake:
        yield fake


async def test_the_file_goes_up_as_openai_documents_and_the_text_comes_back(server):
    server.queue(transcript("Перезвоните мне завтра"))
    transcriber = OpenAITranscriber(server.base_url + "/v1/", api_key=KEY, model="whisper-1")

    text = await transcriber.transcribe(b"OggS...", file_name="voice.ogg", mime_type="audio/ogg")

    assert text == "Перезвоните мне завтра"
    [upload] = server.uploads
    assert upload.path == "/v1/audio/transcriptions"
    assert upload.authorization == f"Bearer {KEY}"
    assert (upload.model, upload.response_format) == ("whisper-1", "json")
    assert (upload.file_name, upload.content_type, upload.audio) == (
        "voice.ogg", "audio/ogg", b"OggS...",
    )


async def test_a_local_endpoint_needs_no_key(server):
    server.queue(transcript("hello"))
    transcriber = OpenAITranscriber(server.base_url, model="small")
    assert await transcriber.transcribe(b"x", file_name="a.mp3", mime_type="audio/mpeg") == "hello"
    assert server.uploads[0].authorization is None


@pytest.mark.parametrize(
    "answer",
    [
        Answer(status=500, body="upstream broke"),
        Answer(status=401, body={"error": {"message": "bad key"}}),
        Answer(body="not json"),
        Answer(body={"no": "text"}),
    ],
    ids=["5xx", "refused", "not-json", "no-text"],
)
async def test_every_failure_is_one_named_error_without_the_key(server, answer, caplog):
    server.queue(answer)
    transcriber = OpenAITranscriber(server.base_url, api_key=KEY)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(TranscriptionFailed) as failed:
        await transcriber.transcribe(b"x", file_name="voice.ogg", mime_type="audio/ogg")
    assert "127.0.0.1" in str(failed.value)
    assert KEY not in str(failed.value) and KEY not in caplog.text


async def test_an_endpoint_that_is_not_there_is_a_named_error():
    async with FakeTranscriptionServer() as gone:
        url = gone.base_url
    transcriber = OpenAITranscriber(url, api_key=KEY, timeout=2)
    with pytest.raises(TranscriptionFailed, match="ConnectError"):
        await transcriber.transcribe(b"x", file_name="voice.ogg", mime_type="audio/ogg")
