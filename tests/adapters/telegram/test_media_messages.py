"""Every kind of private message reaches the subscribers: kurigram's own Message objects
with a voice note, photo, file, sticker, contact, location or poll become IncomingMessages
with their Media; the file is fetched only when asked for, into memory."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from pyrogram import enums, types

from salesbot.adapters.telegram import PyrogramAccounts
from salesbot.application.errors import MediaTooLarge, TelegramError
from salesbot.application.ports import IncomingMessage
from salesbot.domain.account import Account
from salesbot.domain.media import Media, MediaKind
from salesbot.domain.peer import Peer
from tests.adapters.telegram.client_stand_in import StandInTelegram, make_session_string
from tests.secrets import API_HASH, API_ID

SESSION = make_session_string(5002, marker=b"media")
ACCOUNT_ID = 1
PEER = Peer(account_id=ACCOUNT_ID, username="prospect_one", user_id=42, access_hash=4242)


async def no_sleep(_seconds: float) -> None:
    await asyncio.sleep(0)


@pytest.fixture
def telegram() -> StandInTelegram:
    server = StandInTelegram()
    server.add_user("prospect_one", 42, access_hash=4242)
    return server


@pytest.fixture
async def received(telegram):
    """What the subscriber got, with the accounts connected."""
    accounts = PyrogramAccounts(API_ID, API_HASH, client_factory=telegram.factory, sleep=no_sleep)
    got: list[IncomingMessage] = []

    async def collect(message: IncomingMessage) -> None:
        got.append(message)

    accounts.subscribe(collect)
    await accounts.connect(
        Account(phone="+79000000002", session_string=SESSION, id=ACCOUNT_ID), [PEER]
    )
    got_accounts = (accounts, got)
    yield got_accounts
    await accounts.close()


def message(*, outgoing: bool = False, message_id: int = 7, **content) -> types.Message:
    prospect = types.User(id=42, username="Prospect_One")
    return types.Message(
        id=message_id,
        from_user=None if outgoing else prospect,
        chat=types.Chat(id=42, type=enums.ChatType.PRIVATE, username="Prospect_One"),
        date=datetime(2026, 1, 5, 12, 0),  # noqa: DTZ001 - kurigram's dates are naive
        outgoing=outgoing,
        **content,
    )


KINDS = {
    "voice": (
        {"voice": types.Voice(file_id="AwAC-voice", file_unique_id="AgAD-v", duration=14,
                              mime_type="audio/ogg", file_size=23000)},
        Media(MediaKind.VOICE, file_id="AwAC-voice", file_unique_id="AgAD-v", duration=14,
              mime_type="audio/ogg", file_size=23000),
        "[voice 0:14]",
    ),
    "audio": (
        {"audio": types.Audio(file_id="CQAC-a", file_unique_id="AgAD-a", duration=200,
                              file_name="pitch.mp3", mime_type="audio/mpeg")},
        Media(MediaKind.AUDIO, file_id="CQAC-a", file_unique_id="AgAD-a", duration=200,
              file_name="pitch.mp3", mime_type="audio/mpeg"),
        "[audio 3:20]",
    ),
    "video_note": (
        {"video_note": types.VideoNote(file_id="DQAC-n", file_unique_id="AgAD-n", length=240,
                                       duration=9)},
        Media(MediaKind.VIDEO_NOTE, file_id="DQAC-n", file_unique_id="AgAD-n", duration=9),
        "[video note 0:09]",
    ),
    "photo": (
        {"photo": types.Photo(file_id="AgAC-p", file_unique_id="AQAD-p", width=800, height=600,
                              file_size=51234, date=datetime(2026, 1, 5)),  # noqa: DTZ001
         "caption": "наш прайс"},
        Media(MediaKind.PHOTO, file_id="AgAC-p", file_unique_id="AQAD-p", file_size=51234),
        "[photo] наш прайс",
    ),
    "video": (
        {"video": types.Video(file_id="BAAC-v", file_unique_id="AgAD-vi", width=1, height=1,
                              codec="h264", duration=75, file_name="tour.mp4")},
        Media(MediaKind.VIDEO, file_id="BAAC-v", file_unique_id="AgAD-vi", duration=75,
              file_name="tour.mp4"),
        "[video 1:15]",
    ),
    "document": (
        {"document": types.Document(file_id="BQAC-d", file_unique_id="AgAD-d",
                                    file_name="report.pdf", mime_type="application/pdf"),
         "caption": "см. отчёт"},
        Media(MediaKind.DOCUMENT, file_id="BQAC-d", file_unique_id="AgAD-d",
              file_name="report.pdf", mime_type="application/pdf"),
        "[document report.pdf] см. отчёт",
    ),
    "sticker": (
        {"sticker": types.Sticker(file_id="CAAC-s", file_unique_id="AgAD-s",
                                  type=enums.StickerType.REGULAR, width=512, height=512,
                                  is_animated=False, is_video=False, emoji="😀")},
        Media(MediaKind.STICKER, file_id="CAAC-s", file_unique_id="AgAD-s", emoji="😀"),
        "[sticker 😀]",
    ),
    "contact": (
        {"contact": types.Contact(phone_number="+79001234567", first_name="Анна",
                                  last_name="Петрова")},
        Media(MediaKind.CONTACT, phone="+79001234567", contact_name="Анна Петрова"),
        "[contact +79001234567 Анна Петрова]",
    ),
    "location": (
        {"location": types.Location(latitude=55.7558, longitude=37.6173)},
        Media(MediaKind.LOCATION, latitude=55.7558, longitude=37.6173),
        "[location 55.7558, 37.6173]",
    ),
    "poll": (
        {"poll": types.Poll(id="p1", question=types.FormattedText(text="Какой день удобен?"),
                            options=[], is_closed=False)},
        Media(MediaKind.POLL, question="Какой день удобен?"),
        "[poll Какой день удобен?]",
    ),
}


@pytest.mark.parametrize("kind", list(KINDS))
async def test_each_kind_of_message_reaches_the_subscriber_with_its_media(
    telegram, received, kind
):
    _, got = received
    content, media, described = KINDS[kind]
    await telegram.client(SESSION).emit(message(**content))

    (incoming,) = got
    assert incoming.media == media
    assert incoming.text == content.get("caption", "")
    assert media.content(incoming.text) == described
    assert (incoming.user_id, incoming.username, incoming.outgoing) == (42, "prospect_one", False)
    # Nothing was downloaded to describe it.
    assert telegram.client(SESSION).called("download_media") == []


async def test_a_photo_sent_from_the_telegram_app_is_seen_as_the_accounts_own(telegram, received):
    _, got = received
    content, media, _ = KINDS["photo"]
    await telegram.client(SESSION).emit(message(outgoing=True, **content))

    (own,) = got
    assert own.outgoing and own.user_id == 42 and own.media == media


async def test_a_message_with_neither_text_nor_known_media_is_ignored(telegram, received):
    _, got = received
    await telegram.client(SESSION).emit(message(dice=types.Dice(emoji="🎲", value=3)))
    await telegram.client(SESSION).emit(message())
    assert got == []


async def test_chat_history_keeps_the_media_too(telegram, received):
    accounts, _ = received
    content, media, _ = KINDS["document"]
    telegram.history[(SESSION, 42)].append(message(**content))

    (item,) = await accounts.recent_messages(ACCOUNT_ID, PEER)
    assert item.media == media and item.text == "см. отчёт"


async def test_a_file_is_fetched_into_memory_by_its_reference(telegram, received):
    accounts, _ = received
    telegram.files["AwAC-voice"] = b"OggS voice bytes"
    media = KINDS["voice"][1]

    assert await accounts.download(ACCOUNT_ID, media, max_bytes=10**6) == b"OggS voice bytes"
    [(args, kwargs)] = telegram.client(SESSION).called("download_media")
    assert args == ("AwAC-voice",) and kwargs == {"in_memory": True}


async def test_a_file_too_big_or_gone_is_a_named_error(telegram, received):
    accounts, _ = received
    media = KINDS["voice"][1]  # 23000 bytes, says Telegram
    with pytest.raises(MediaTooLarge):
        await accounts.download(ACCOUNT_ID, media, max_bytes=1000)
    assert telegram.client(SESSION).called("download_media") == []  # not even tried
    with pytest.raises(TelegramError):  # the stand-in holds no such file
        await accounts.download(ACCOUNT_ID, media, max_bytes=10**6)
