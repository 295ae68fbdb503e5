"""Nothing the admin bot sends — answers, errors, exported .txt files and .zip archives —
ever carries a session string, a token, a proxy password or a 2FA password.

Accounts hold realistic secrets (tests/secrets.py) and every command that shows accounts,
dialogs or exports is run; then every byte the bot sent through the Bot API (message texts,
documents, every member of every zip) is searched for them.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from salesbot.application.errors import InvalidProxy
from salesbot.domain.account import Account
from tests.adapters.admin_bot.conftest import World
from tests.fakes.bot_api_server import ApiCall, FakeBotApi
from tests.secrets import (
    BOT_TOKEN,
    SECOND_SESSION_STRING,
    SESSION_SECRET,
    SESSION_STRING,
    TWO_FA_PASSWORD,
    leaks,
)

PROXY_PASSWORD = SESSION_SECRET  # a secret of the suite's list, used as a proxy password
PROXY = f"socks5://seller:{PROXY_PASSWORD}@127.0.0.1:1080"
PHONE = "+79005550101"


@pytest.fixture
async def bot_world(tmp_path: Path, engine) -> AsyncIterator[World]:
    api = FakeBotApi(BOT_TOKEN)
    await api.start()
    world = World(api, tmp_path, engine)
    await world.bot.start()
    try:
        yield world
    finally:
        await world.bot.stop()
        await api.close()


def everything_sent(calls: list[ApiCall]) -> str:
    """Every parameter and every uploaded file of the calls, zip members unpacked."""
    parts = []
    for call in calls:
        parts += [str(value) for value in call.params.values()]
        for upload in call.files.values():
            content = upload.content
            if content[:2] == b"PK":
                with zipfile.ZipFile(io.BytesIO(content)) as archive:
                    parts += [archive.read(name).decode("utf-8") for name in archive.namelist()]
            else:
                parts.append(content.decode("utf-8", errors="replace"))
    return "\n".join(parts)


async def test_no_answer_export_or_error_of_the_bot_carries_a_secret(bot_world: World):
    world, api = bot_world, bot_world.api
    async with world.uow() as uow:
        first = await uow.accounts.add(
            Account(phone="+79001112233", session_string=SESSION_STRING, proxy=PROXY)
        )
        await uow.accounts.add(Account(phone="+79001112244", session_string=SECOND_SESSION_STRING))
        await uow.commit()
    assert first.id is not None
    dialog = await world.seed.dialog(first.id, "ivan_petrov", notes="met at the expo")
    await world.seed.received(dialog, first.id, "Здравствуйте, сколько стоит?")
    mark = api.mark()

    for command in (
        "/list_accounts", "/list", f"/view {dialog}", "/stats", f"/export {dialog}",
        "/export_all", "/disable_account +79001112233", "/enable_account +79001112233",
        "/list_accounts", f"/say {dialog} привет",
    ):  # fmt: skip
        assert await world.admin.calls(command), command

    # A login with two-step verification: a wrong password, then the right one.
    world.telegram.login_passwords[PHONE] = TWO_FA_PASSWORD
    await world.admin.send(f"/add_account {PHONE} {PROXY}")
    await world.admin.send("1 2 3 4 5")
    await world.admin.send(TWO_FA_PASSWORD + "-wrong")
    await world.admin.send(TWO_FA_PASSWORD)
    await world.admin.send("/list_accounts")

    sent = everything_sent([c for c in api.since(mark) if c.method != "getUpdates"])
    assert "ivan_petrov" in sent and "+79001112233" in sent  # the answers did arrive
    assert leaks(sent) == []
    assert PROXY_PASSWORD not in sent


async def test_a_malformed_proxy_is_refused_without_repeating_its_password(bot_world: World):
    with pytest.raises(InvalidProxy) as refused:
        await bot_world.use_cases.accounts.import_session(
            PHONE, SESSION_STRING, proxy=f"ftp://seller:{PROXY_PASSWORD}@host"
        )
    assert PROXY_PASSWORD not in str(refused.value)
    assert leaks(str(refused.value)) == []
