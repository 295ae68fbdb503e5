"""How long "typing..." shows before a message goes: like a person typing it."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class TypingPace:
    """Proportional to the text's length, with jitter, capped. Telegram shows one chat
    action for about 5 s, so it is repeated while the typing lasts."""

    base_seconds: float = 1.5
    chars_per_second: float = 12.0
    jitter: float = 0.25
    max_seconds: float = 15.0
    repeat_seconds: float = 4.5

    def duration(self, text: str, rng: random.Random) -> float:
        if self.max_seconds <= 0:
            return 0.0
        seconds = self.base_seconds + len(text) / self.chars_per_second
        seconds *= 1 + rng.uniform(-self.jitter, self.jitter)
        return max(0.0, min(self.max_seconds, seconds))


NO_TYPING = TypingPace(max_seconds=0)
"""No typing pause at all (tests, benchmarks)."""
