"""A language model that answers from a queue of prepared replies or errors."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from salesbot.application.ports import ChatTurn, Completion

Reply = (
    str
    | Completion
    | Exception
    | Callable[[Sequence[ChatTurn]], "str | Completion"]
    | Callable[[Sequence[ChatTurn]], "Awaitable[str | Completion]"]
)


@dataclass(frozen=True)
class FakeRequest:
    """One call as the model saw it."""

    turns: list[ChatTurn]
    max_tokens: int | None
    json_mode: bool

    @property
    def system(self) -> str:
        return "\n".join(t.content for t in self.turns if t.role == "system")

    @property
    def text(self) -> str:
        """Everything the model was shown, for `in` checks."""
        return "\n".join(t.content for t in self.turns)


class FakeLanguageModel:
    """Replies are popped in order; `default` answers once the queue is empty (it may be
    any kind of reply: a function of the turns answers each request on its own terms).

    A reply may be a string, a Completion, an exception to raise, or a function of the turns
    (sync or async) — an async one lets a test hold the model "thinking" on an Event.
    """

    def __init__(self, *replies: Reply, default: Reply | None = None) -> None:
        self._replies: deque[Reply] = deque(replies)
        self.default = default
        self.calls: list[list[ChatTurn]] = []
        self.requests: list[FakeRequest] = []

    def queue(self, *replies: Reply) -> None:
        self._replies.extend(replies)

    @property
    def queued(self) -> int:
        return len(self._replies)

    async def complete(
        self, turns: Sequence[ChatTurn], *, max_tokens: int | None = None, json_mode: bool = False
    ) -> Completion:
        self.calls.append(list(turns))
        self.requests.append(FakeRequest(list(turns), max_tokens, json_mode))
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
            if isinstance(reply, Awaitable):
                reply = await reply
        if isinstance(reply, Completion):
            return reply
        return Completion(text=reply, model="fake", prompt_tokens=10, completion_tokens=5)
