"""The Telegram user accounts: logging them in, keeping the pool of running clients."""
