"""The status message's pace: edits come after enough work or time, never closer than
`min_seconds`, and the last one always; each edit masked like every chat text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from salesbot.adapters.admin_bot.progress import ProgressMessage, ProgressPace
from salesbot.adapters.logging import secret_mask
from tests.fakes.clock import FakeClock

SECRET = "sk-or-v1-progress-test-secret-0123456789"


@dataclass
class _Sent:
    message_id: int


@dataclass
class RecordingBot:
    """The two Bot methods a status message uses."""

    sent: list[str] = field(default_factory=list)
    edits: list[str] = field(default_factory=list)

    async def send_message(self, chat_id: int, text: str, **_: Any) -> _Sent:
        self.sent.append(text)
        return _Sent(message_id=41)

    async def edit_message_text(self, text: str, chat_id: int, message_id: int) -> None:
        assert message_id == 41
        self.edits.append(text)


async def test_edits_follow_the_work_or_the_time_and_never_come_closer_than_min_seconds():
    clock = FakeClock()
    bot = RecordingBot()
    status = ProgressMessage(
        bot, 7, clock, ProgressPace(every=10, every_seconds=5, min_seconds=1)  # type: ignore[arg-type]
    )
    await status.start("0")

    await status.progress("3", 3)  # too soon, too little
    clock.advance(0.5)
    await status.progress("20", 20)  # enough work, but within a second of the last edit
    clock.advance(1)
    await status.progress("20", 20)  # shown
    clock.advance(1)
    await status.progress("25", 25)  # 5 more in 1 s: neither enough work nor time
    clock.advance(5)
    await status.progress("26", 26)  # little work, but 5 s since the last edit
    await status.note("a part sent")  # within min_seconds: skipped
    await status.finish("done")  # the last word waits out min_seconds, then is shown

    assert bot.sent == ["0"]
    assert bot.edits == ["20", "26", "done"]
    assert clock.slept == [1]


async def test_an_edit_is_masked_like_a_sent_text():
    secret_mask.add(SECRET)
    bot = RecordingBot()
    status = ProgressMessage(bot, 7, FakeClock(), ProgressPace(min_seconds=0))  # type: ignore[arg-type]
    await status.start(f"started with {SECRET}")
    await status.finish(f"failed: {SECRET} refused")

    assert SECRET not in bot.sent[0] + bot.edits[0]
    assert bot.edits[0].startswith("failed: ") and bot.edits[0].endswith(" refused")
