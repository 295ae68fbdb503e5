"""Telegram user accounts over MTProto (kurigram, imported as `pyrogram`)."""

from salesbot.adapters.telegram.accounts import PyrogramAccounts
from salesbot.adapters.telegram.login import PyrogramLogin
from salesbot.adapters.telegram.proxy import proxy_dict
from salesbot.adapters.telegram.session import check_session_string, session_user_id

__all__ = [
    "PyrogramAccounts",
    "PyrogramLogin",
    "check_session_string",
    "proxy_dict",
    "session_user_id",
]
