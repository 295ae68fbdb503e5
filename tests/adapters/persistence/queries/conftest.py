"""The query ports on PostgreSQL: the rows are stored through the real unit of work
(`new_uow`, as the contract suites call it) and read back through the SQL queries."""

import pytest

from salesbot.adapters.persistence.queries import (
    SqlConversationQueries,
    SqlDialogViews,
    SqlExportQuery,
    SqlStatsQuery,
)


@pytest.fixture
def new_uow(uow_factory):
    return uow_factory


@pytest.fixture
def stats(engine) -> SqlStatsQuery:
    return SqlStatsQuery(engine)


@pytest.fixture
def exports(engine) -> SqlExportQuery:
    return SqlExportQuery(engine)


@pytest.fixture
def dialog_views(engine) -> SqlDialogViews:
    return SqlDialogViews(engine)


@pytest.fixture
def conversation_queries(engine) -> SqlConversationQueries:
    return SqlConversationQueries(engine)
