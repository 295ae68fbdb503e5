"""A stand-in for the CRM's webhook: it keeps what it took, and refuses while `down`."""

from __future__ import annotations

from salesbot.application.errors import WebhookUndelivered
from salesbot.domain.webhook import WebhookEvent


class FakeWebhookSender:
    def __init__(self) -> None:
        self.taken: list[WebhookEvent] = []
        self.down: str | None = None
        """The failure to answer with (e.g. "HTTP 503"), or None to take events."""
        self.tries = 0
        self.refused: dict[str, str] = {}
        """Usernames whose events it refuses (with that failure) while taking the others."""

    async def send(self, event: WebhookEvent) -> None:
        self.tries += 1
        if self.down is not None:
            raise WebhookUndelivered(self.down)
        refused = self.refused.get(str(event.payload.get("username")))
        if refused is not None:
            raise WebhookUndelivered(refused)
        self.taken.append(event)
