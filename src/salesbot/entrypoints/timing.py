"""How often the process polls, checks and pauses: production values, and fast ones for the
end-to-end test (`SALESBOT_TIMING=fast`), which must run in seconds.

None of these are business rules (quota, delays between sends, debounce, follow-up silence
are settings); they are how eagerly the loops look for work.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from salesbot.application.typing_pace import NO_TYPING, TypingPace


@dataclass(frozen=True)
class Timing:
    pool_refresh: float = 60.0
    dispatcher_idle: float = 5.0
    dispatcher_supervise: float = 1.0
    typing: TypingPace = field(default_factory=TypingPace)
    follow_up_interval: float = 300.0
    database_grace: float = 300.0
    database_ping_interval: float = 15.0
    notifier_window: float | None = None  # the notifier's own default
    standin_poll: float = 1.0

    @classmethod
    def fast(cls) -> Timing:
        return cls(
            pool_refresh=0.5,
            dispatcher_idle=0.1,
            dispatcher_supervise=0.1,
            typing=NO_TYPING,
            follow_up_interval=1.0,
            database_ping_interval=1.0,
            notifier_window=0.1,
            standin_poll=0.5,
        )
