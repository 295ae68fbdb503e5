"""What `salesbot run` refuses to start with, and the one line that says what to do."""

from __future__ import annotations

import pytest
from dependency_injector import providers

from salesbot.domain.account import Account
from salesbot.entrypoints.container import shut_down
from salesbot.entrypoints.serving import check_sessions
from salesbot.entrypoints.startup import StartupRefused, check_database
from tests.application.telegram_world import FakeLocks
from tests.fakes import FakeClock, FakeLanguageModel, FakeNotifier, FakeTelegram
from tests.wiring import container_for, settings_for_tests


async def test_a_database_that_never_answers_is_refused_after_the_wait():
    clock = FakeClock()
    with pytest.raises(StartupRefused, match="does not answer after 10 s") as refused:
        await check_database(
            "postgresql://postgres@127.0.0.1:1/nowhere", clock, wait=10, retry_every=2
        )
    assert refused.value.exit_code == 1
    assert clock.slept == [2, 2, 2, 2, 2]


async def test_an_empty_database_is_refused_with_the_command_that_fixes_it(empty_pg_url):
    with pytest.raises(StartupRefused, match=r"empty.*run `salesbot migrate`"):
        await check_database(empty_pg_url, FakeClock(), wait=0)


async def test_a_migrated_database_passes(migrated_url):
    await check_database(migrated_url, FakeClock(), wait=0)


async def test_sessions_stored_under_another_session_secret_are_refused_naming_it(
    engine, uow_factory
):
    """`uow_factory` stores under the tests' SESSION_SECRET; the service runs with another."""
    async with uow_factory() as uow:
        await uow.accounts.add(Account(phone="+79990000001", session_string="a-session"))
        await uow.commit()
    container = container_for(
        settings_for_tests(SESSION_SECRET="another-secret-entirely"),
        engine=engine,
        telegram=FakeTelegram(),
        llm=FakeLanguageModel(default="hi"),
        clock=FakeClock(),
        notifier=FakeNotifier(),
        locks=FakeLocks(),
    )
    container.admin_bot.override(providers.Object(None))
    with pytest.raises(StartupRefused, match="SESSION_SECRET") as refused:
        await check_sessions(container.service())
    assert refused.value.exit_code == 2
    await shut_down(container)
