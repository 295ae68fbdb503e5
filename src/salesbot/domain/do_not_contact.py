"""Prospects who asked to be left alone: never written to again, from any account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class DoNotContact:
    username: str | None
    user_id: int | None
    reason: str
    created_at: datetime
    dialog_id: int | None = None

    def __post_init__(self) -> None:
        if self.username is None and self.user_id is None:
            raise ValueError("a do-not-contact entry needs a username or a user id")
