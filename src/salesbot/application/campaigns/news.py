"""CampaignNews: a campaign was created or resumed, so the feeder looks for work at once
instead of at its next idle wake-up (a minute). Only the feeder of `salesbot run` listens;
where none does (the CLI's import, another process), telling changes nothing and the feeder
finds the campaign on its own within that minute."""

from __future__ import annotations

from collections.abc import Callable


class CampaignNews:
    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []

    def listen(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def tell(self) -> None:
        for listener in self._listeners:
            listener()
