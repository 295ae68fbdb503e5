"""`salesbot account login|import|list` as the operator runs them."""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
from collections import deque

from dependency_injector import providers

from salesbot.adapters.telegram import PyrogramLogin
from salesbot.domain.account import AccountStatus
from salesbot.entrypoints.commands import account as command
from salesbot.entrypoints.container import Container
from salesbot.entrypoints.settings import load_settings
from tests.adapters.telegram.client_stand_in import StandInTelegram, make_session_string
from tests.secrets import API_HASH, API_ID, SESSION_SECRET, TWO_FA_PASSWORD, leaks

SESSION = make_session_string(8080, marker=b"cli")


def salesbot(*args: str, database: str, tmp_path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SESSION_SECRET")}
    env.update(DATABASE_URL=database, SESSION_SECRET=SESSION_SECRET)
    return subprocess.run(
        [sys.executable, "-m", "salesbot.entrypoints.cli", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_import_then_list_shows_the_account_and_never_the_session(migrated_url, tmp_path):
    imported = salesbot(
        "account", "import", "--phone", "+7 900 111-22-33", "--session-string", SESSION,
        database=migrated_url, tmp_path=tmp_path,
    )
    assert imported.returncode == 0, imported.stderr
    assert "Account 1 (+79001112233) is stored and active" in imported.stdout

    listed = salesbot("account", "list", database=migrated_url, tmp_path=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert listed.stderr == ""
    header, row = listed.stdout.splitlines()[:2]
    assert header.split() == ["ID", "PHONE", "STATUS", "TODAY", "NEXT", "FREE", "DIALOGS", "PROXY"]
    assert row.split()[:4] == ["1", "+79001112233", "active", "0/3"]  # warming up
    for result in (imported, listed):
        assert SESSION not in result.stdout + result.stderr
        assert leaks(result.stdout + result.stderr) == []


def test_a_string_that_is_no_pyrogram_session_is_refused(migrated_url, tmp_path):
    result = salesbot(
        "account", "import", "--phone", "+79001112233", "--session-string", "1BVtsOKABu0...",
        database=migrated_url, tmp_path=tmp_path,
    )
    assert result.returncode == 2
    assert "not a Pyrogram session string" in result.stdout


def test_an_unmigrated_database_is_named(empty_pg_url, tmp_path):
    result = salesbot("account", "list", database=empty_pg_url, tmp_path=tmp_path)
    assert result.returncode == 1
    assert "salesbot migrate" in result.stderr


def test_login_needs_the_api_credentials(migrated_url, tmp_path):
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    result = salesbot(
        "--env-file", str(env_file), "account", "login", "--phone", "+79001112233",
        database=migrated_url, tmp_path=tmp_path,
    )
    assert result.returncode == 2
    assert "API_ID: is required but not set" in result.stderr


# --- the interactive login, with the terminal's answers scripted -------------------------


def scripted(*answers: str):
    queue = deque(answers)

    async def ask(prompt: str) -> str:
        return queue.popleft()

    return ask


async def test_login_asks_for_the_code_then_the_password_and_stores_the_account(
    migrated_url, uow_factory
):
    telegram = StandInTelegram()
    telegram.account_ids["+79001112233"] = 8080
    telegram.passwords["+79001112233"] = TWO_FA_PASSWORD
    settings = load_settings(
        env_file=None, API_ID=API_ID, API_HASH=API_HASH, DATABASE_URL=migrated_url
    )
    container = Container(
        settings=providers.Object(settings), database_url=providers.Object(migrated_url)
    )
    container.uow_factory.override(providers.Object(uow_factory))
    container.telegram_login.override(
        providers.Object(PyrogramLogin(API_ID, API_HASH, client_factory=telegram.factory))
    )
    out = io.StringIO()
    args = argparse.Namespace(action="login", phone="+7 900 111 22 33", proxy=None)

    code = await command.run(
        args,
        settings,
        container=container,
        ask=scripted("1 1 1 1 1", "1 2 3 4 5"),
        ask_secret=scripted("not it", TWO_FA_PASSWORD),
        out=out,
    )

    assert code == 0, out.getvalue()
    text = out.getvalue()
    assert "the code is wrong" in text and "password is wrong" in text
    assert "Account 1 (+79001112233) is logged in and active" in text
    assert TWO_FA_PASSWORD not in text
    async with uow_factory() as uow:
        stored = await uow.accounts.get_by_phone("+79001112233")
    assert stored is not None and stored.status is AccountStatus.ACTIVE
    assert stored.session_string.startswith("A")  # a kurigram session string, decrypted


async def test_a_banned_number_ends_the_login_with_one_clear_line(migrated_url, uow_factory):
    from pyrogram import errors as tg

    telegram = StandInTelegram()

    def banned(name: str, **kwargs):
        client = telegram.factory(name, **kwargs)
        client.fail("send_code", tg.PhoneNumberBanned())
        return client

    settings = load_settings(
        env_file=None, API_ID=API_ID, API_HASH=API_HASH, DATABASE_URL=migrated_url
    )
    container = Container(
        settings=providers.Object(settings), database_url=providers.Object(migrated_url)
    )
    container.uow_factory.override(providers.Object(uow_factory))
    container.telegram_login.override(
        providers.Object(PyrogramLogin(API_ID, API_HASH, client_factory=banned))
    )
    out = io.StringIO()
    args = argparse.Namespace(action="login", phone="+79001112233", proxy=None)

    assert await command.run(args, settings, container=container, out=out) == 1
    assert "banned" in out.getvalue()


async def test_login_with_no_network_is_one_line_naming_the_data_centre(
    migrated_url, uow_factory
):
    """kurigram's own failure with no route (or a connection closed unanswered) is
    `KeyError: 0` from its key exchange: the operator reads where it could not reach."""
    telegram = StandInTelegram()

    def offline(name: str, **kwargs):
        client = telegram.factory(name, **kwargs)
        client.fail("connect", KeyError(0))
        return client

    settings = load_settings(
        env_file=None, API_ID=API_ID, API_HASH=API_HASH, DATABASE_URL=migrated_url
    )
    container = Container(
        settings=providers.Object(settings), database_url=providers.Object(migrated_url)
    )
    container.uow_factory.override(providers.Object(uow_factory))
    container.telegram_login.override(
        providers.Object(PyrogramLogin(API_ID, API_HASH, client_factory=offline))
    )
    out = io.StringIO()
    args = argparse.Namespace(action="login", phone="+79001112233", proxy=None)

    assert await command.run(args, settings, container=container, out=out) == 1
    assert out.getvalue().splitlines() == [
        "Telegram cannot be reached now: cannot reach Telegram's data centre at "
        "149.154.167.51:443 (closed without an answer); check the network (or the proxy) "
        "and try again."
    ]
