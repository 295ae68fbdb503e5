"""The CRM's webhook: signed JSON POSTs over httpx."""

from salesbot.adapters.webhook.sender import HttpWebhookSender

__all__ = ["HttpWebhookSender"]
