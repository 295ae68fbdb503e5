"""The operator's private Telegram bot (python-telegram-bot, long polling) and the notifier
that tells the admins what happened."""

from salesbot.adapters.admin_bot.bot import (
    AdminBot,
    AdminUseCases,
    SendingBot,
    build_admin_bot,
    build_bot,
    build_notifier,
    shared_rate_limiter,
)
from salesbot.adapters.admin_bot.notifier import BotNotifier

__all__ = [
    "AdminBot",
    "AdminUseCases",
    "BotNotifier",
    "SendingBot",
    "build_admin_bot",
    "build_bot",
    "build_notifier",
    "shared_rate_limiter",
]
