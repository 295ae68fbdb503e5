"""What a kurigram Message carries besides text, as the domain's Media (no download)."""

from __future__ import annotations

from typing import Any

from salesbot.domain.media import Media, MediaKind

_FILES = (
    # (Message attribute, kind): the order kurigram's own media detection follows.
    ("voice", MediaKind.VOICE),
    ("video_note", MediaKind.VIDEO_NOTE),
    ("audio", MediaKind.AUDIO),
    ("photo", MediaKind.PHOTO),
    ("video", MediaKind.VIDEO),
    ("animation", MediaKind.ANIMATION),
    ("sticker", MediaKind.STICKER),
    ("document", MediaKind.DOCUMENT),
)


def media_of(message: Any) -> Media | None:
    """The message's media, or None when it has none salesbot knows (plain text, a
    service message, a dice...)."""
    for attribute, kind in _FILES:
        item = getattr(message, attribute, None)
        if item is not None:
            return _file(kind, item)
    contact = getattr(message, "contact", None)
    if contact is not None:
        name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
        phone = contact.phone_number or None
        return Media(MediaKind.CONTACT, phone=phone, contact_name=name or None)
    venue = getattr(message, "venue", None)
    location = venue.location if venue is not None else getattr(message, "location", None)
    if location is not None:
        return Media(MediaKind.LOCATION, latitude=location.latitude, longitude=location.longitude)
    poll = getattr(message, "poll", None)
    if poll is not None:
        question = getattr(poll.question, "text", poll.question)
        return Media(MediaKind.POLL, question=str(question) if question else None)
    return None


def _file(kind: MediaKind, item: Any) -> Media:
    duration = getattr(item, "duration", None)
    return Media(
        kind,
        file_id=item.file_id,
        file_unique_id=item.file_unique_id,
        duration=int(duration) if duration is not None else None,
        file_size=getattr(item, "file_size", None),
        file_name=getattr(item, "file_name", None),
        mime_type=getattr(item, "mime_type", None),
        emoji=getattr(item, "emoji", None),
    )
