"""Every kind of message a prospect sends is received, stored, seen by the model and told.

The service's wiring on real PostgreSQL, Telegram played by the fake; transcription, when
configured, by a fake OpenAI-compatible `/audio/transcriptions` endpoint on 127.0.0.1.
"""

from __future__ import annotations

import pytest

from salesbot.adapters.transcription.openai_audio import OpenAITranscriber
from salesbot.domain.events import ProspectReplied
from salesbot.domain.media import Media, MediaKind
from salesbot.domain.message import Direction
from tests.application.conversation_support import answer
from tests.application.telegram_world import World
from tests.fakes import FakeLanguageModel
from tests.fakes.transcription_server import Answer, FakeTranscriptionServer, transcript

REPLY = "Could you write it in a few words? I cannot listen right now."

KINDS = [
    (Media(MediaKind.VOICE, file_id="v1", duration=14), "", "[voice 0:14]"),
    (Media(MediaKind.AUDIO, file_id="a1", file_name="pitch.mp3"), "", "[audio pitch.mp3]"),
    (Media(MediaKind.VIDEO_NOTE, file_id="n1", duration=9), "", "[video note 0:09]"),
    (Media(MediaKind.PHOTO, file_id="p1"), "our shop front", "[photo] our shop front"),
    (Media(MediaKind.VIDEO, file_id="m1", duration=75), "", "[video 1:15]"),
    (
        Media(MediaKind.DOCUMENT, file_id="d1", file_name="requirements.pdf"),
        "see page 2",
        "[document requirements.pdf] see page 2",
    ),
    (Media(MediaKind.STICKER, file_id="s1", emoji="👍"), "", "[sticker 👍]"),
    (
        Media(MediaKind.CONTACT, phone="+79001234567", contact_name="Oleg"),
        "",
        "[contact +79001234567 Oleg]",
    ),
    (Media(MediaKind.LOCATION, latitude=55.75, longitude=37.62), "", "[location 55.75, 37.62]"),
    (Media(MediaKind.POLL, question="Which day suits?"), "", "[poll Which day suits?]"),
]


async def one_dialog(world: World) -> tuple[int, int]:
    account = await world.add_account("+79000000001")
    assert await world.pool.start_all() == {account}
    dialog_id, _ = await world.open_dialog(account, "anna", 5001)
    await world.drain(account)
    return account, dialog_id


async def settle(world: World, account: int) -> None:
    await world.container.incoming().drain()
    await world.drain(account)


async def incoming_of(world: World, dialog_id: int) -> list[str]:
    async with world.uow() as uow:
        stored = await uow.messages.list_for_dialog(dialog_id)
    return [m.content for m in stored if m.direction is Direction.IN]


@pytest.mark.parametrize(("media", "caption", "shown"), KINDS, ids=[k[0].kind.value for k in KINDS])
async def test_each_kind_is_stored_seen_by_the_model_told_and_answered(
    engine, media, caption, shown
):
    world = World(engine=engine, llm=FakeLanguageModel(default=answer(REPLY)), min_delay=0)
    account, dialog_id = await one_dialog(world)

    await world.tg.deliver(account, 5001, caption, username="anna", media=media)
    await settle(world, account)

    assert await incoming_of(world, dialog_id) == [shown]
    async with world.uow() as uow:
        (stored,) = [
            m for m in await uow.messages.list_for_dialog(dialog_id) if m.direction is Direction.IN
        ]
    assert stored.media is not None and stored.media.kind is media.kind
    assert stored.media.file_id == media.file_id, "the file reference is kept to fetch later"
    assert shown in world.llm.requests[-1].text, "the model sees what was sent"
    (told,) = world.notifier.of_type(ProspectReplied)
    assert isinstance(told, ProspectReplied) and shown in told.text
    assert world.tg.sent_to(5001)[1:] == [REPLY]
    assert world.tg.downloads == [], "nothing is downloaded without transcription"


@pytest.fixture
async def transcription():
    server = FakeTranscriptionServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def test_a_voice_note_is_transcribed_into_the_prospects_words(engine, transcription):
    transcription.queue(transcript("Пришлите, пожалуйста, прайс на розы"))
    world = World(
        engine=engine,
        llm=FakeLanguageModel(default=answer("Sending the price list now.")),
        min_delay=0,
        transcriber=OpenAITranscriber(transcription.base_url, model="whisper-1"),
    )
    account, dialog_id = await one_dialog(world)
    world.tg.files["v1"] = b"OggS-voice-bytes"

    voice = Media(MediaKind.VOICE, file_id="v1", duration=14, mime_type="audio/ogg")
    await world.tg.deliver(account, 5001, "", username="anna", media=voice)
    await settle(world, account)

    assert await incoming_of(world, dialog_id) == [
        "[voice 0:14, transcribed] Пришлите, пожалуйста, прайс на розы"
    ]
    (upload,) = transcription.uploads
    assert upload.audio == b"OggS-voice-bytes" and upload.model == "whisper-1"
    assert "прайс на розы" in world.llm.requests[-1].text
    assert world.tg.sent_to(5001)[1:] == ["Sending the price list now."]


async def test_a_failed_transcription_keeps_the_description_and_loses_nothing(
    engine, transcription
):
    transcription.queue(Answer(status=500, body="internal error"))
    world = World(
        engine=engine,
        llm=FakeLanguageModel(default=answer(REPLY)),
        min_delay=0,
        transcriber=OpenAITranscriber(transcription.base_url),
    )
    account, dialog_id = await one_dialog(world)
    world.tg.files["v1"] = b"OggS"

    voice = Media(MediaKind.VOICE, file_id="v1", duration=14)
    await world.tg.deliver(account, 5001, "", username="anna", media=voice)
    await settle(world, account)

    assert await incoming_of(world, dialog_id) == ["[voice 0:14]"]
    assert world.tg.sent_to(5001)[1:] == [REPLY]
