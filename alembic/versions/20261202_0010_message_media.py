"""message media: voice notes, photos, files, stickers... are stored with their kind.

`media_kind` says what a message carried besides words; `media` keeps what Telegram told
of it (file reference, duration, file name, emoji, any transcript) as JSON. `content` holds
its bracketed description, so everything that reads messages reads it unchanged.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MEDIA_KINDS = (
    "voice",
    "audio",
    "video_note",
    "photo",
    "video",
    "animation",
    "document",
    "sticker",
    "contact",
    "location",
    "poll",
)


def upgrade() -> None:
    # Nullable columns without a default: adding them rewrites no row.
    op.add_column(
        "messages",
        sa.Column(
            "media_kind",
            sa.Enum(
                *MEDIA_KINDS,
                name="message_media_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=True,
        ),
    )
    op.add_column("messages", sa.Column("media", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    op.drop_column("messages", "media")
    op.drop_column("messages", "media_kind")
