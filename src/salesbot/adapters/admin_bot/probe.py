"""The admin bot's token asked once at the Bot API (`getMe`), for `salesbot check --online`."""

from __future__ import annotations

import httpx

from salesbot.application.errors import ProbeFailed


async def bot_username(http: httpx.AsyncClient, base_url: str, token: str) -> str:
    """The bot's @username; ProbeFailed saying why when the Bot API does not give it."""
    try:
        response = await http.get(f"{base_url}/bot{token}/getMe")
    except httpx.TimeoutException:
        raise ProbeFailed(f"the Bot API at {base_url} did not answer in time") from None
    except httpx.HTTPError as error:
        name = type(error).__name__
        raise ProbeFailed(f"cannot reach the Bot API at {base_url} ({name})") from None
    if response.status_code in (401, 404):
        raise ProbeFailed(
            "BOT_TOKEN: the Bot API refuses the token (401 Unauthorized): copy it again from "
            "@BotFather"
        )
    try:
        body = response.json()
        username = body["result"]["username"] if body.get("ok") else None
    except (ValueError, KeyError, TypeError, AttributeError):
        username = None
    if response.status_code != 200 or not username:
        raise ProbeFailed(f"the Bot API answered getMe with HTTP {response.status_code}, no bot")
    return f"@{username}"
