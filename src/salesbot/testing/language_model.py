"""A language model that answers from a queue of prepared replies or errors."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

from salesbot.application.ports import ChatTurn, Completion

Reply = str | Completion | Exception | Callable[[Sequence[ChatTurn]], "str | Completion"]


class FakeLanguageModel:
    def __init__(self, *replies: Reply, default: str | None = None) -> None:
        self._replies: deque[Reply] = deque(replies)
        self.default = default
        self.calls: list[list[ChatTurn]] = []

    def queue(self, *replies: Reply) -> None:
        self._replies.extend(replies)

    async def complete(
        self, turns: Sequence[ChatTurn], *, max_tokens: int | None = None
    ) -> Completion:
        self.calls.append(list(turns))
        if self._replies:
            reply = self._replies.popleft()
        elif self.default is not None:
            reply = self.default
        else:
            raise AssertionError("FakeLanguageModel has no reply queued")
        if isinstance(reply, Exception):
            raise reply
        if callable(reply):
            reply = reply(turns)
        if isinstance(reply, Completion):
            return reply
        return Completion(text=reply, model="fake", prompt_tokens=10, completion_tokens=5)
