"""What a message that is not plain text carries: a voice note, a photo, a file, a sticker...

salesbot never looks inside a photo or a file. It keeps what Telegram says about it (the
kind, its duration, file name, emoji, the file reference to fetch it later) and speaks of
it in one bracketed tag, `[voice 0:14]`, `[document report.pdf]`, which is what the
operator reads in `/view`, the exports and the notices, and what the model sees in the
conversation, so it can ask for the words in text or hand off. The tag is not translated:
the model and any transcript read it the same way.

A voice note, audio or video note may be transcribed; the transcript then is the prospect's
words, marked `transcribed` in the tag: `[voice 0:14, transcribed] the words`.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from salesbot.domain.text import storable


class MediaKind(str, enum.Enum):
    VOICE = "voice"
    AUDIO = "audio"
    VIDEO_NOTE = "video_note"
    PHOTO = "photo"
    VIDEO = "video"
    ANIMATION = "animation"
    DOCUMENT = "document"
    STICKER = "sticker"
    CONTACT = "contact"
    LOCATION = "location"
    POLL = "poll"

    @property
    def tag(self) -> str:
        """The word in the bracket."""
        return self.value.replace("_", " ")

    @property
    def is_spoken(self) -> bool:
        """Whether it holds speech a transcription can turn into words."""
        return self in _SPOKEN


_SPOKEN = frozenset({MediaKind.VOICE, MediaKind.AUDIO, MediaKind.VIDEO_NOTE})
_TIMED = frozenset({*_SPOKEN, MediaKind.VIDEO, MediaKind.ANIMATION})
MAX_NAME_CHARS = 100
"""A file name, title or poll question longer than this is cut in the tag."""


def duration_text(seconds: int) -> str:
    """`0:14`, `12:03`, `1:02:03`."""
    minutes, secs = divmod(max(0, int(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_NAME_CHARS else text[: MAX_NAME_CHARS - 1] + "…"


@dataclass(frozen=True)
class Media:
    """What Telegram told about a message's media; nothing is downloaded to make one."""

    kind: MediaKind
    file_id: str | None = None
    """Telegram's reference to fetch the file with (per account)."""
    file_unique_id: str | None = None
    """The same file's id across accounts and time (cannot fetch it)."""
    duration: int | None = None
    file_size: int | None = None
    file_name: str | None = None
    mime_type: str | None = None
    emoji: str | None = None
    phone: str | None = None
    contact_name: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    question: str | None = None
    transcript: str | None = None
    """What was said in it, when it was transcribed; then these are the prospect's words."""

    def describe(self) -> str:
        """The bracketed tag: `[voice 0:14]`, `[photo]`, `[document report.pdf]`,
        `[sticker 😀]`, `[contact +7… Name]`, `[location 55.75, 37.62]`, `[poll question]`,
        with `, transcribed` inside when a transcript follows."""
        parts = [self.kind.tag]
        if self.kind in _TIMED and self.duration is not None:
            parts.append(duration_text(self.duration))
        elif self.kind in (MediaKind.DOCUMENT, MediaKind.AUDIO) and self.file_name:
            parts.append(_short(self.file_name))
        elif self.kind is MediaKind.STICKER and self.emoji:
            parts.append(self.emoji)
        elif self.kind is MediaKind.CONTACT:
            parts += [p for p in (self.phone, self.contact_name and _short(self.contact_name)) if p]
        elif self.kind is MediaKind.LOCATION and self.latitude is not None:
            parts.append(f"{round(self.latitude, 5)}, {round(self.longitude or 0.0, 5)}")
        elif self.kind is MediaKind.POLL and self.question:
            parts.append(_short(self.question))
        tag = " ".join(parts)
        if self.transcript is not None:
            tag += ", transcribed"
        return f"[{tag}]"

    def content(self, caption: str = "") -> str:
        """The message as stored and shown: the tag, then the caption, then the transcript."""
        words = [w for w in (caption.strip(), (self.transcript or "").strip()) if w]
        return " ".join([self.describe(), *words])

    def transcribed(self, transcript: str) -> Media:
        return replace(self, transcript=storable(transcript.strip()))

    def storable(self) -> Media:
        """Every text field made storable (they come from Telegram, like any text)."""
        changes: dict[str, Any] = {
            f.name: storable(value)
            for f in fields(self)
            if isinstance(value := getattr(self, f.name), str) and not isinstance(value, enum.Enum)
        }
        return replace(self, **changes)

    def to_record(self) -> dict[str, Any]:
        """Plain JSON values, the fields that are set."""
        record = {k: v for k, v in asdict(self).items() if v is not None}
        record["kind"] = self.kind.value
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Media:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in record.items() if k in known}
        values["kind"] = MediaKind(values["kind"])
        return cls(**values)


def message_content(text: str, media: Media | None) -> str:
    """What a received message says, as stored: its text, or its media's tag with the
    caption (the text of a media message) and any transcript."""
    return text if media is None else media.content(text)


def spoken_words(text: str, media: Media | None) -> str:
    """The prospect's own words in a message (what an opt-out is looked for in): the text or
    caption, and a transcript; never the tag (a file named `stop.pdf` asks nothing)."""
    if media is None or not media.transcript:
        return text
    return f"{text} {media.transcript}".strip()
