"""A campaign through `salesbot run` end to end: its leads are started by the feeder, and a
kill -9 while an opener is being written neither starts a lead twice nor loses one.

The same world as test_run_e2e.py (a real subprocess, real PostgreSQL, the fake Bot API,
the fake model server and the Telegram stand-in); the campaign is stored straight into
the database, as an import would leave it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from salesbot.adapters.persistence import create_engine, run_migrations
from tests.entrypoints.test_run_e2e import (
    PHONE,
    SlowModel,
    dialogs_per_prospect,
    fresh_database,
    world,
)

__all__ = ["fresh_database", "world"]  # the fixtures, shared with test_run_e2e.py

pytestmark = pytest.mark.timeout(240)

LEADS = [f"campaign_lead_{i}" for i in range(1, 6)]


async def store_campaign(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            campaign = (
                await connection.execute(
                    text(
                        "INSERT INTO campaigns (name, script, variants, status, created_at) "
                        "VALUES ('Весна', '', '[\"Open with roses.\", \"Open with tulips.\"]', "
                        "'active', now()) RETURNING id"
                    )
                )
            ).scalar_one()
            for position, lead in enumerate(LEADS, 1):
                await connection.execute(
                    text(
                        "INSERT INTO campaign_leads (campaign_id, position, username, fields) "
                        'VALUES (:campaign, :position, :username, \'{"company": "Flowers"}\')'
                    ),
                    {"campaign": campaign, "position": position, "username": lead},
                )
    finally:
        await engine.dispose()


async def lead_states(database_url: str) -> list[tuple[str, str, int | None]]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT username, status, variant FROM campaign_leads ORDER BY position")
            )
            return [(name, str(status), variant) for name, status, variant in rows]
    finally:
        await engine.dispose()


async def test_a_kill_9_mid_campaign_starts_no_lead_twice_and_loses_none(world):
    await asyncio.to_thread(run_migrations, world.database_url)
    await store_campaign(world.database_url)
    for i, lead in enumerate(LEADS):
        world.telegram.add_user(lead, 7001 + i)
    model = world.llm.default = SlowModel(delay=20.0)

    salesbot = await world.salesbot()
    await salesbot.wait_line("salesbot ready")
    await world.admin_says(f"/add_account {PHONE}")
    await world.admin_says("1 2 3 4 5")
    await world.telegram.wait_until(lambda: bool(world.telegram.connected))

    # The feeder took the first lead and the model is writing its opener: kill -9.
    await world.bot.wait_for(lambda: model.calls >= 1, timeout=30)
    await salesbot.kill()
    states = await lead_states(world.database_url)
    assert states[0][1] == "starting" and all(s == "queued" for _, s, _ in states[1:]), states
    model.slow = False

    salesbot = await world.salesbot()
    await salesbot.wait_line("salesbot ready")

    async def all_started() -> bool:
        return all(s == "started" for _, s, _ in await lead_states(world.database_url))

    for _ in range(300):
        if await all_started():
            break
        await asyncio.sleep(0.2)
    states = await lead_states(world.database_url)
    assert [s for _, s, _ in states] == ["started"] * len(LEADS), states
    assert sorted(v for _, _, v in states) == [0, 0, 0, 1, 1]  # even variants
    assert await dialogs_per_prospect(world.database_url) == {lead: 1 for lead in LEADS}
    await world.telegram.wait_sent(len(LEADS))
    assert sorted(world.telegram.sent_to(lead) != [] for lead in LEADS) == [True] * len(LEADS)
    assert await salesbot.terminate() == 0
