"""The persistence contract suites run each test on both backends: the in-memory fake and
PostgreSQL. What passes on one and not on the other is drift to fix."""

from __future__ import annotations

import pytest

from salesbot.application.ports import UnitOfWorkFactory
from tests.fakes import FakeClock, FakeUnitOfWork, InMemoryStore

BACKENDS = ["fake", "postgresql"]


@pytest.fixture(params=BACKENDS)
def new_uow(request: pytest.FixtureRequest) -> UnitOfWorkFactory:
    """A UnitOfWorkFactory on a fresh, empty store of the parametrized backend."""
    if request.param == "fake":
        store = InMemoryStore(clock=FakeClock())
        return lambda: FakeUnitOfWork(store)
    return request.getfixturevalue("uow_factory")
