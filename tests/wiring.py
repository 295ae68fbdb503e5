"""The tests' way into the composition root: the real Container, its adapters replaced.

Every world of the suite builds from `salesbot.entrypoints.container.Container`, so the
wiring the tests exercise is the production wiring; what differs is said explicitly with
`container.<adapter>.override(...)`. On PostgreSQL the test's engine replaces the engine
resource (the queries and the unit of work then run on it); without one the unit of work is
the in-memory fake and the query ports are `NoQueries`, which say that the test needs the
database (the queries are SQL only).
"""

from __future__ import annotations

from typing import Any

from dependency_injector import providers
from sqlalchemy.ext.asyncio import AsyncEngine

from salesbot.entrypoints.container import Container
from salesbot.entrypoints.settings import Settings, load_settings
from tests import secrets
from tests.fakes.account_calls import FakeAccountCalls

NO_DATABASE = "postgresql://no-database-in-this-test@127.0.0.1:1/none"


def settings_for_tests(**values: Any) -> Settings:
    """Complete settings from the test secrets, with `values` on top; no env file."""
    return load_settings(env_file=None, **{**secrets.env(), **values})


class NoQueries:
    """The query ports for a world without a database: every read across dialogs is SQL."""

    def __getattr__(self, name: str) -> Any:
        async def needs_the_database(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError(
                f"{name} is a query answered in SQL: run this test on the PostgreSQL world"
            )

        return needs_the_database


def container_for(
    settings: Settings,
    *,
    engine: AsyncEngine | None = None,
    uow: Any = None,
    telegram: Any = None,
    login: Any = None,
    llm: Any = None,
    notifier: Any = None,
    clock: Any = None,
    locks: Any = None,
    timing: Any = None,
    transcriber: Any = None,
    calls: Any = None,
) -> Container:
    """The container with the given stand-ins in place of the real adapters."""
    container = Container(
        settings=providers.Object(settings), database_url=providers.Object(NO_DATABASE)
    )
    if engine is not None:
        container.engine.override(providers.Object(engine))
    else:
        no_queries = providers.Object(NoQueries())
        for query in (
            container.dialog_views,
            container.stats,
            container.export_query,
            container.conversation_queries,
        ):
            query.override(no_queries)
        # The account calls between processes: in memory, like the unit of work.
        if calls is None:
            container.account_call_queue.override(
                providers.Singleton(FakeAccountCalls, container.clock)
            )
        # Catch-up asks which chats are open: a question for SQL. Without a database the
        # pool connects without it (tests/application/conversation/test_catch_up.py has it).
        container.catch_up.override(providers.Object(None))
    if uow is not None:
        container.uow_factory.override(providers.Object(uow))
    if telegram is not None:
        container.telegram.override(providers.Object(telegram))
    if login is not None or telegram is not None:
        container.telegram_login.override(providers.Object(login or telegram))
    if llm is not None:
        container.llm.override(providers.Object(llm))
    if notifier is not None:
        container.notifier.override(providers.Object(notifier))
    if clock is not None:
        container.clock.override(providers.Object(clock))
    if locks is not None:
        container.account_locks.override(providers.Object(locks))
    if timing is not None:
        container.timing.override(providers.Object(timing))
    if transcriber is not None:
        container.transcriber.override(providers.Object(transcriber))
    if calls is not None:
        container.account_call_queue.override(providers.Object(calls))
    return container
