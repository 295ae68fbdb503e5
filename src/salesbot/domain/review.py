"""Review mode: which of the AI's messages wait for the admin's approval as drafts.

`REVIEW_MODE` sets it for every dialog (`off`, `openers`: only the first message, `all`:
every message the AI writes); `/review N on|off` overrides it for one dialog.
"""

from __future__ import annotations

import enum

from salesbot.domain.message import OutKind


class ReviewMode(str, enum.Enum):
    OFF = "off"
    OPENERS = "openers"
    ALL = "all"


def needs_review(mode: ReviewMode, override: bool | None, kind: OutKind) -> bool:
    """Whether an AI message of `kind` is drafted. `override`: the dialog's own /review
    (None: it follows `mode`). The operator's own words are never drafted."""
    if kind is OutKind.MANUAL:
        return False
    if override is not None:
        return override
    if mode is ReviewMode.ALL:
        return True
    return mode is ReviewMode.OPENERS and kind is OutKind.OPENER
