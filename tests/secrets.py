"""The secrets every test uses, in one place, so the suite can prove none of them leaks.

Import these instead of inventing your own: at the end of the whole test session every log
line written during it is searched for each value below (tests/log_leak_guard.py), and the run
fails if one appears. They are shaped like the real things (a bot token is `<id>:<35 chars>`,
a Pyrogram session string is ~350 base64url characters) so the log masks are tested on
realistic input; each carries a marker no real secret has.
"""

from __future__ import annotations

import base64

BOT_TOKEN = "7012345678:AAH-TESTbotTOKENleakCANARY_0123456789ab"
API_ID = 1234567
API_HASH = "0123456789abcdefTESTapiHASHcanar"  # 32 characters, like the real one
OPENROUTER_API_KEY = "sk-or-v1-" + "TESTopenrouterKEYcanary0123456789abcdef0123456789abcdef012345"
SESSION_SECRET = "TEST-session-secret-canary-Zq8vN3xK7mP2"
DATABASE_PASSWORD = "TEST-db-password-canary-4Hs9"

# Pyrogram session strings: base64url of a packed struct, ~350 characters.
SESSION_STRING = (
    base64.urlsafe_b64encode(b"TEST-session-string-canary-one:" + bytes(range(256)) * 1)
    .decode()
    .rstrip("=")
)
SECOND_SESSION_STRING = (
    base64.urlsafe_b64encode(b"TEST-session-string-canary-two:" + bytes(reversed(range(256))))
    .decode()
    .rstrip("=")
)
# A short session-like token as fakes produce (no shape mask catches it: only secret_mask.add).
SHORT_SESSION_STRING = "TEST-short-session-canary-7f3a9c"

TWO_FA_PASSWORD = "TEST-2fa-Пароль-canary-hunter2"
WEBHOOK_SECRET = "TEST-webhook-secret-canary-9d2Lr5"
# A CRM webhook URL's own key (Bitrix24's hold one in the path): the URL is a secret too.
WEBHOOK_PATH = "/rest/1/TEST-webhook-url-canary-k3y/"
LOGIN_CODE = "12345"  # not a secret once used: Telegram expires it

SECRETS: dict[str, str] = {
    "BOT_TOKEN": BOT_TOKEN,
    "API_HASH": API_HASH,
    "OPENROUTER_API_KEY": OPENROUTER_API_KEY,
    "SESSION_SECRET": SESSION_SECRET,
    "DATABASE_PASSWORD": DATABASE_PASSWORD,
    "SESSION_STRING": SESSION_STRING,
    "SECOND_SESSION_STRING": SECOND_SESSION_STRING,
    "SHORT_SESSION_STRING": SHORT_SESSION_STRING,
    "TWO_FA_PASSWORD": TWO_FA_PASSWORD,
    "WEBHOOK_SECRET": WEBHOOK_SECRET,
    "WEBHOOK_PATH": WEBHOOK_PATH,
}
"""Every value that must never be written to a log, an export or an error message."""

# The part of a bot token that is secret (the number before the colon is the bot's public id).
BOT_TOKEN_SECRET_PART = BOT_TOKEN.split(":", 1)[1]


def fragments(name: str, value: str) -> list[tuple[str, str]]:
    """What counts as a leak of `value`: the whole, and for long secrets a 24-character head
    and tail too (a truncated repr or a line-wrapped dump still leaks)."""
    found = [(name, value)]
    if name == "BOT_TOKEN":
        found.append(("BOT_TOKEN (secret part)", BOT_TOKEN_SECRET_PART))
    if len(value) > 48:
        found += [(f"{name} (head)", value[:24]), (f"{name} (tail)", value[-24:])]
    return found


def leaks(text: str) -> list[str]:
    """The names of the test secrets that appear in `text`."""
    return [
        label
        for name, value in SECRETS.items()
        for label, piece in fragments(name, value)
        if piece in text
    ]


def env(**overrides: str) -> dict[str, str]:
    """A complete environment for `salesbot run`/`check` built from these secrets."""
    values = {
        "API_ID": str(API_ID),
        "API_HASH": API_HASH,
        "BOT_TOKEN": BOT_TOKEN,
        "ADMIN_TELEGRAM_ID": "111111",
        "OPENROUTER_API_KEY": OPENROUTER_API_KEY,
        "SESSION_SECRET": SESSION_SECRET,
    }
    values.update(overrides)
    return values
