"""`world`: the conversation engine on fakes with one account, closed after the test (a
module may define its own `world` instead); `pg_world`: the same on PostgreSQL, for what
reads across dialogs in SQL."""

import pytest

from tests.application.conversation_support import World


@pytest.fixture
async def world(tmp_path):
    w = World(tmp_path)
    await w.add_account()
    yield w
    await w.incoming.aclose()


@pytest.fixture
async def pg_world(tmp_path, engine):
    w = World(tmp_path, engine=engine)
    await w.add_account()
    yield w
    await w.incoming.aclose()
