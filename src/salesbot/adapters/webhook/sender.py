"""The CRM's webhook as the WebhookSender port: one signed JSON POST per event.

A 2xx is delivered; anything else is WebhookUndelivered and the deliverer retries it with
back-off: a timeout, a refused connection, a 5xx, and a 4xx too (a 401 from a wrong
secret, a 404 from a wrong path or a 400 from a receiver that does not know a new field
are fixed on the receiver's side, after which the waiting events must still arrive), and a
3xx (redirects are not followed: the signature is for this URL's receiver). The error names
the status or the failure, never the URL (CRM webhook URLs often hold a key) or the secret.
"""

from __future__ import annotations

import json

import httpx

from salesbot.adapters.logging.masking import secret_mask
from salesbot.adapters.webhook.signature import (
    EVENT_HEADER,
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
)
from salesbot.application.errors import WebhookUndelivered
from salesbot.application.ports import Clock
from salesbot.domain.webhook import WebhookEvent

USER_AGENT = "salesbot-webhook/1"
_DETAIL_LIMIT = 200


def encode(event: WebhookEvent) -> bytes:
    """The request's body: the event as compact UTF-8 JSON."""
    return json.dumps(event.body(), ensure_ascii=False, separators=(",", ":")).encode()


class HttpWebhookSender:
    def __init__(
        self,
        url: str,
        secret: str,
        clock: Clock,
        *,
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        # httpx logs every request's URL: it and the key are masked wherever they appear.
        secret_mask.add(url, secret)
        self._url = url
        self._secret = secret
        self._clock = clock
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False
        )
        self._owns_client = client is None

    async def send(self, event: WebhookEvent) -> None:
        body = encode(event)
        timestamp = int(self._clock.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_HEADER: event.kind.value,
            EVENT_ID_HEADER: str(event.id),
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
        }
        try:
            response = await self._client.post(self._url, content=body, headers=headers)
        except httpx.TimeoutException:
            raise WebhookUndelivered("no answer in time (timeout)") from None
        except httpx.HTTPError as error:
            raise WebhookUndelivered(f"no connection ({type(error).__name__})") from None
        if not 200 <= response.status_code < 300:
            detail = " ".join(response.text.split())[:_DETAIL_LIMIT]
            raise WebhookUndelivered(
                f"HTTP {response.status_code}" + (f": {detail}" if detail else "")
            )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()
