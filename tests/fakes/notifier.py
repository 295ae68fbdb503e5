"""Collects what would have been told to the admins."""

from __future__ import annotations

from salesbot.domain.events import Event


class FakeNotifier:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def notify(self, event: Event) -> None:
        self.events.append(event)

    def of_type(self, kind: type[Event]) -> list[Event]:
        return [event for event in self.events if isinstance(event, kind)]
