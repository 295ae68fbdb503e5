"""What a Pyrogram session string says about itself, read without connecting.

A session string with no user id is not logged in: `Client.start()` would then fall back to
its interactive console login and wait on stdin forever, so such strings are refused first.
"""

from __future__ import annotations

import base64
import binascii
import struct

# kurigram's formats (pyrogram/storage/storage.py): the current one carries the api id.
_CURRENT = ">BI?256sQ?"
_OLD = ">B?256sI?"
_OLD_64 = ">B?256sQ?"
_OLD_SIZE = 351
_OLD_64_SIZE = 356


def session_user_id(session_string: str) -> int:
    """The Telegram user id a session string is logged in as; ValueError when it is not one."""
    text = session_string.strip()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        if len(text) == _OLD_SIZE:
            _, _, _, user_id, _ = struct.unpack(_OLD, raw)
        elif len(text) == _OLD_64_SIZE:
            _, _, _, user_id, _ = struct.unpack(_OLD_64, raw)
        else:
            _, _, _, _, user_id, _ = struct.unpack(_CURRENT, raw)
    except (binascii.Error, struct.error, ValueError):
        raise ValueError("this is not a Pyrogram session string") from None
    if not user_id:
        raise ValueError("this session string is not logged in to any account")
    return int(user_id)


def check_session_string(session_string: str) -> None:
    """Raise ValueError with the reason when `session_string` cannot run an account."""
    session_user_id(session_string)
