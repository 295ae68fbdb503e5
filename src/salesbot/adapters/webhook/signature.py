"""How a webhook request is signed (the README's "Webhook" part has the receiver's check,
and tests/adapters/webhook runs that very snippet against these requests).

The signed string is `<timestamp>.<raw body>`: the `X-Salesbot-Timestamp` header (Unix
seconds, the time of this try) joined by a dot to the body's bytes exactly as sent. The
`X-Salesbot-Signature` header is `sha256=` and the hex HMAC-SHA256 of that string, keyed
with WEBHOOK_SECRET. A receiver refuses a timestamp older than a few minutes: a recorded
request cannot be replayed later, and a retry is signed again with its own time.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Salesbot-Signature"
TIMESTAMP_HEADER = "X-Salesbot-Timestamp"
EVENT_HEADER = "X-Salesbot-Event"
EVENT_ID_HEADER = "X-Salesbot-Event-Id"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp`."""
    signed = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
