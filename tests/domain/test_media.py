"""Media messages speak in one bracketed tag, the same for the operator and the model."""

from __future__ import annotations

import pytest

from salesbot.domain.media import Media, MediaKind, duration_text, message_content, spoken_words


@pytest.mark.parametrize(
    ("media", "tag"),
    [
        (Media(MediaKind.VOICE, duration=14), "[voice 0:14]"),
        (Media(MediaKind.VIDEO_NOTE, duration=75), "[video note 1:15]"),
        (Media(MediaKind.AUDIO, duration=200, file_name="song.mp3"), "[audio 3:20]"),
        (Media(MediaKind.AUDIO, file_name="song.mp3"), "[audio song.mp3]"),
        (Media(MediaKind.PHOTO), "[photo]"),
        (Media(MediaKind.VIDEO, duration=3723), "[video 1:02:03]"),
        (Media(MediaKind.ANIMATION, duration=3), "[animation 0:03]"),
        (Media(MediaKind.DOCUMENT, file_name="report.pdf"), "[document report.pdf]"),
        (Media(MediaKind.DOCUMENT), "[document]"),
        (Media(MediaKind.STICKER, emoji="😀"), "[sticker 😀]"),
        (
            Media(MediaKind.CONTACT, phone="+79001234567", contact_name="Anna Petrova"),
            "[contact +79001234567 Anna Petrova]",
        ),
        (
            Media(MediaKind.LOCATION, latitude=55.7558261, longitude=37.6173),
            "[location 55.75583, 37.6173]",
        ),
        (Media(MediaKind.POLL, question="Which day suits you?"), "[poll Which day suits you?]"),
    ],
)
def test_each_kind_is_described_in_one_bracketed_tag(media, tag):
    assert media.describe() == tag


def test_the_caption_follows_the_tag():
    photo = Media(MediaKind.PHOTO, file_id="AgAD", file_unique_id="AQAD")
    assert photo.content("our price list") == "[photo] our price list"
    assert message_content("our price list", photo) == "[photo] our price list"
    assert message_content("plain text", None) == "plain text"


def test_a_transcript_is_marked_transcribed_and_is_the_prospects_words():
    voice = Media(MediaKind.VOICE, duration=14).transcribed("  call me tomorrow  ")
    assert voice.content() == "[voice 0:14, transcribed] call me tomorrow"
    assert spoken_words("", voice) == "call me tomorrow"


def test_the_tag_is_never_taken_for_the_prospects_words():
    document = Media(MediaKind.DOCUMENT, file_name="stop.pdf")
    assert spoken_words("", document) == ""
    assert spoken_words("see attached", document) == "see attached"


def test_long_names_are_cut_in_the_tag_not_in_the_record():
    name = "x" * 300 + ".pdf"
    document = Media(MediaKind.DOCUMENT, file_name=name)
    assert len(document.describe()) < 120
    assert Media.from_record(document.to_record()).file_name == name


def test_a_record_keeps_every_field_and_comes_back_equal():
    media = Media(
        MediaKind.VOICE, file_id="AwAD", file_unique_id="AgAD", duration=14, mime_type="audio/ogg"
    ).transcribed("hello")
    record = media.to_record()
    assert record["kind"] == "voice" and "file_name" not in record
    assert Media.from_record(record) == media
    assert Media.from_record({**record, "some_future_field": 1}) == media


def test_text_fields_are_made_storable():
    media = Media(MediaKind.DOCUMENT, file_name="a\x00b.pdf").storable()
    assert media.file_name == "ab.pdf" and media.kind is MediaKind.DOCUMENT


def test_only_speech_can_be_transcribed():
    assert {k for k in MediaKind if k.is_spoken} == {
        MediaKind.VOICE, MediaKind.AUDIO, MediaKind.VIDEO_NOTE
    }


def test_durations():
    assert [duration_text(s) for s in (0, 9, 60, 3600)] == ["0:00", "0:09", "1:00", "1:00:00"]
