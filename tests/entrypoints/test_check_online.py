"""`salesbot check --online` against stand-ins on 127.0.0.1: the fake Bot API, a fake
OpenRouter, the test PostgreSQL, and FakeTelegram for the accounts' sessions (the real
container otherwise: its unit of work, cipher and advisory locks)."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from pathlib import Path

from salesbot.adapters.persistence.migrations import head_revision
from salesbot.domain.account import Account
from salesbot.entrypoints.commands.check_online import run_online
from tests import secrets
from tests.entrypoints.test_check_rules import GOOD
from tests.fakes import FakeTelegram
from tests.fakes.bot_api_server import FakeBotApi
from tests.fakes.openai_server import FakeOpenAIServer, key_and_models
from tests.fakes.telegram_standin import TelegramStandin
from tests.wiring import container_for, settings_for_tests

MODEL = "openai/gpt-4o-mini"


async def _servers(**key_options):
    bot = FakeBotApi(secrets.BOT_TOKEN, username="acme_sales_bot")
    model = FakeOpenAIServer(
        key_and_models(secrets.OPENROUTER_API_KEY, [MODEL, "x/y"], **key_options)
    )
    await bot.start()
    await model.start()
    return bot, model


async def _online(settings, telegram=None, timeout: float = 5.0) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = await run_online(settings, out=out, timeout=timeout, telegram=telegram)
    return code, out.getvalue().splitlines()


async def _store(settings, engine, *accounts: Account) -> list[Account]:
    container = container_for(settings, engine=engine)
    stored = []
    async with container.uow_factory()() as uow:
        for account in accounts:
            stored.append(await uow.accounts.add(account))
        await uow.commit()
    return stored


def _no_secret_in(lines: list[str]) -> None:
    text = "\n".join(lines)
    for value in (secrets.BOT_TOKEN, secrets.BOT_TOKEN_SECRET_PART, secrets.OPENROUTER_API_KEY):
        assert value not in text


async def test_every_system_answers(engine, migrated_url, tmp_path):
    bot, model = await _servers()
    try:
        settings = settings_for_tests(
            BOT_API_BASE_URL=bot.base_url,
            OPENROUTER_BASE_URL=model.base_url,
            DATABASE_URL=migrated_url,
            DATA_DIR=str(tmp_path),
        )
        (account,) = await _store(
            settings, engine, Account(phone="+79001234567", session_string=secrets.SESSION_STRING)
        )
        telegram = FakeTelegram()
        code, lines = await _online(settings, telegram)
    finally:
        await bot.close()
        await model.stop()
    assert code == 0, lines
    assert lines[0] == "ok    Bot API: the admin bot is @acme_sales_bot"
    assert lines[1] == (
        f"ok    model: the key is accepted, {MODEL} exists, $4.90 of $5.00 credit left"
    )
    assert lines[2].startswith("ok    database: PostgreSQL 127.0.0.1:")
    assert lines[2].endswith(f" answers, newest schema ({head_revision()})")
    assert lines[3] == f"ok    account {account.id} (+79001234567): the session is alive"
    assert lines[4] == "Every online check passed."
    assert telegram.connects == [account.id] and telegram.connected() == frozenset()
    assert [r.path for r in model.requests] == ["/api/v1/key", "/api/v1/models"]
    _no_secret_in(lines)


async def test_a_refused_token_and_key_and_a_database_not_migrated(empty_pg_url, tmp_path):
    bot = FakeBotApi("1:another-token")
    model = FakeOpenAIServer(key_and_models("sk-or-v1-another-key", [MODEL]))
    await bot.start()
    await model.start()
    try:
        settings = settings_for_tests(
            BOT_API_BASE_URL=bot.base_url,
            OPENROUTER_BASE_URL=model.base_url,
            DATABASE_URL=empty_pg_url,
            DATA_DIR=str(tmp_path),
        )
        code, lines = await _online(settings, FakeTelegram())
    finally:
        await bot.close()
        await model.stop()
    assert code == 1
    assert lines[0] == (
        "FAIL  Bot API: BOT_TOKEN: the Bot API refuses the token (401 Unauthorized): copy it "
        "again from @BotFather"
    )
    assert lines[1] == (
        "FAIL  model: OPENROUTER_API_KEY: the endpoint refuses the key (HTTP 401): check it, "
        "or make a new one"
    )
    assert lines[2].startswith("FAIL  database: PostgreSQL 127.0.0.1:")
    assert lines[2].endswith(
        f" has no schema, salesbot needs {head_revision()}: run `salesbot migrate`"
    )
    assert lines[3:] == ["3 online check(s) failed."], "no account is checked without a schema"
    _no_secret_in(lines)


async def test_a_missing_model_no_credit_left_and_a_dead_session(engine, migrated_url, tmp_path):
    bot, model = await _servers(limit=5.0, usage=5.0)
    try:
        settings = settings_for_tests(
            BOT_API_BASE_URL=bot.base_url,
            OPENROUTER_BASE_URL=model.base_url,
            OPENROUTER_FALLBACK_MODELS="x/y,gone/model",
            DATABASE_URL=migrated_url,
            DATA_DIR=str(tmp_path),
        )
        alive, dead = await _store(
            settings,
            engine,
            Account(phone="+79001234567", session_string=secrets.SESSION_STRING),
            Account(phone="+79007654321", session_string=secrets.SECOND_SESSION_STRING),
        )
        telegram = FakeTelegram()
        telegram.revoked_sessions.add(secrets.SECOND_SESSION_STRING)
        code, lines = await _online(settings, telegram)
        model.default = key_and_models(secrets.OPENROUTER_API_KEY, [MODEL])  # credit again
        _, again = await _online(settings, telegram)
    finally:
        await bot.close()
        await model.stop()
    assert code == 1
    assert lines[1] == (
        "FAIL  model: OPENROUTER_API_KEY: no credit left on the key ($5.00 of $5.00 used): "
        "raise its limit at https://openrouter.ai/settings/keys"
    )
    assert lines[3] == f"ok    account {alive.id} (+79001234567): the session is alive"
    assert lines[4] == (
        f"FAIL  account {dead.id} (+79007654321): the session is no longer valid: add the "
        "account again with /add_account (or `salesbot account login`) (session revoked)"
    )
    assert lines[5] == "2 online check(s) failed."
    assert again[1] == (
        "FAIL  model: OPENROUTER_MODEL: x/y, gone/model not among the endpoint's 1 models"
    )


async def test_each_check_is_bounded_by_the_timeout(engine, migrated_url, tmp_path):
    bot, model = await _servers(tells_the_key=False)
    bot.hold("getMe")  # never released: the Bot API does not answer
    try:
        settings = settings_for_tests(
            BOT_API_BASE_URL=bot.base_url,
            OPENROUTER_BASE_URL=model.base_url,
            DATABASE_URL=migrated_url,
            DATA_DIR=str(tmp_path),
        )
        (account,) = await _store(
            settings, engine, Account(phone="+79001234567", session_string=secrets.SESSION_STRING)
        )
        telegram = FakeTelegram()
        telegram.hanging_sessions.add(secrets.SESSION_STRING)
        code, lines = await asyncio.wait_for(_online(settings, telegram, timeout=0.3), 10)
    finally:
        await bot.close()
        await model.stop()
    assert code == 1
    assert lines[0] == f"FAIL  Bot API: the Bot API at {bot.base_url} did not answer in time"
    assert lines[1] == f"ok    model: the key is accepted, {MODEL} exists"  # no /key: no credit
    assert lines[3] == (
        f"FAIL  account {account.id} (+79001234567): Telegram cannot be reached for it "
        "(no answer in 0.3 s)"
    )


async def test_an_unreachable_database_and_endpoints(tmp_path):
    settings = settings_for_tests(
        BOT_API_BASE_URL="http://127.0.0.1:1",
        OPENROUTER_BASE_URL="http://127.0.0.1:1/api/v1",
        DATABASE_URL="postgresql://user:secret-pw@127.0.0.1:1/none",
        DATA_DIR=str(tmp_path),
    )
    code, lines = await _online(settings, FakeTelegram(), timeout=2)
    assert code == 1
    assert lines[0] == (
        "FAIL  Bot API: cannot reach the Bot API at http://127.0.0.1:1 (ConnectError)"
    )
    assert lines[1] == (
        "FAIL  model: cannot reach the model endpoint at http://127.0.0.1:1/api/v1/key "
        "(ConnectError)"
    )
    assert lines[2].startswith("FAIL  database: PostgreSQL 127.0.0.1:1/none does not answer (")
    assert "secret-pw" not in "\n".join(lines)


async def test_the_command_as_the_operator_runs_it(migrated_url, tmp_path):
    """The real `salesbot check --online` in a subprocess: no account yet, so every system
    it asks is a stand-in here."""
    bot = FakeBotApi(GOOD["BOT_TOKEN"], username="acme_sales_bot")
    model = FakeOpenAIServer(key_and_models(GOOD["OPENROUTER_API_KEY"], [MODEL]))
    await bot.start()
    await model.start()
    env = {
        **{k: v for k, v in os.environ.items() if k not in GOOD},
        **GOOD,
        "BOT_API_BASE_URL": bot.base_url,
        "OPENROUTER_BASE_URL": model.base_url,
        "DATABASE_URL": migrated_url,
        "DATA_DIR": str(tmp_path / "data"),
        "SESSION_SECRET": secrets.SESSION_SECRET,
        "LOG_FILE": str(tmp_path / "log" / "salesbot.log"),
    }
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "salesbot.entrypoints.cli", "check", "--online",
            env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        await bot.close()
        await model.stop()
    out = stdout.decode()
    assert process.returncode == 0, out + stderr.decode()
    lines = out.splitlines()
    assert lines[0].startswith("Configuration OK")
    assert lines[1] == "ok    Bot API: the admin bot is @acme_sales_bot"
    assert lines[4] == "ok    accounts: none yet (add one with /add_account in the admin bot)"
    assert GOOD["BOT_TOKEN"] not in out + stderr.decode()
    assert GOOD["OPENROUTER_API_KEY"] not in out + stderr.decode()
    assert not (tmp_path / "log").exists(), "the service's log is not made by whoever checks"


async def test_the_sessions_in_a_real_process_with_the_telegram_standin(
    engine, migrated_url, tmp_path
):
    """The online checks in a process of their own, the accounts' sessions asked of the
    Telegram stand-in (as the end-to-end test runs `salesbot run`)."""
    bot, model = await _servers()
    standin = TelegramStandin()
    await standin.start()
    env = {
        **os.environ,
        **secrets.env(),
        "BOT_API_BASE_URL": bot.base_url,
        "OPENROUTER_BASE_URL": model.base_url,
        "DATABASE_URL": migrated_url,
        "DATA_DIR": str(tmp_path / "data"),
    }
    settings = settings_for_tests(DATABASE_URL=migrated_url, DATA_DIR=str(tmp_path / "data"))
    alive, dead = await _store(
        settings,
        engine,
        Account(phone="+79001234567", session_string="standin-session:+79001234567"),
        Account(phone="+79007654321", session_string="standin-session:someone-else"),
    )
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.entrypoints.check_with_standin", standin.base_url,
            env=env, cwd=Path(__file__).resolve().parents[2],
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        await standin.stop()
        await bot.close()
        await model.stop()
    lines = stdout.decode().splitlines()
    assert process.returncode == 1, stdout.decode() + stderr.decode()
    assert lines[3] == f"ok    account {alive.id} (+79001234567): the session is alive"
    assert lines[4] == (
        f"FAIL  account {dead.id} (+79007654321): the session is no longer valid: add the "
        "account again with /add_account (or `salesbot account login`) (unknown session)"
    )
    assert lines[5] == "1 online check(s) failed."
    assert standin.connects == [alive.id] and standin.connected == {}


async def test_a_routing_variant_of_a_listed_model_exists():
    import httpx

    from salesbot.adapters.llm.probe import probe_model

    server = FakeOpenAIServer(key_and_models("k", [MODEL], limit=None, usage=1.25))
    async with server, httpx.AsyncClient(timeout=5) as http:
        found = await probe_model(http, server.base_url, "k", [f"{MODEL}:nitro"])
    assert found == (
        f"the key is accepted, {MODEL}:nitro exists, no credit limit on the key, $1.25 used"
    )


async def test_no_session_secret_is_made_by_the_check(migrated_url, tmp_path):
    bot, model = await _servers()
    try:
        settings = settings_for_tests(
            BOT_API_BASE_URL=bot.base_url,
            OPENROUTER_BASE_URL=model.base_url,
            DATABASE_URL=migrated_url,
            DATA_DIR=str(tmp_path / "data"),
            SESSION_SECRET="",
        )
        code, lines = await _online(settings, FakeTelegram())
    finally:
        await bot.close()
        await model.stop()
    assert code == 0, lines
    assert lines[3] == (
        "ok    accounts: none yet (no session secret: SESSION_SECRET is unset and DATA_DIR "
        "holds none)"
    )
    assert not (tmp_path / "data").exists()
