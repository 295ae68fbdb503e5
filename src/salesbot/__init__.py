"""salesbot: AI-led sales conversations from Telegram user accounts."""

__version__ = "0.1.0"
