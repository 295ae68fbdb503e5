"""The trigger of revision 0017 on PostgreSQL: whatever writes the dialogs (here one plain
UPDATE of several rows, as no repository does) makes their events, and only while the
webhook is enabled."""

from __future__ import annotations

from sqlalchemy import text

from tests.contracts.seeding import add_account, add_dialog


async def test_any_statement_that_changes_dialogs_makes_their_events(uow_factory, engine):
    async with uow_factory() as uow:
        account = await add_account(uow)
        for name in ("anna_flowers", "bob_jones", "carol_w"):
            await add_dialog(uow, account.id, name)
        await uow.commit()
    async with engine.begin() as connection:
        await connection.execute(text("UPDATE dialogs SET status = 'paused'"))
        assert (await connection.execute(text("SELECT count(*) FROM webhook_events"))).scalar() == 0
    async with uow_factory() as uow:
        await uow.webhook_events.enable(True)
        await uow.commit()
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE dialogs SET status = 'failed' WHERE target_username <> 'carol_w'")
        )
        await connection.execute(text("UPDATE dialogs SET status = 'failed'"))  # once each
        rows = (
            await connection.execute(
                text("SELECT kind, payload->>'username' FROM webhook_events ORDER BY id")
            )
        ).all()
    assert sorted(rows) == [
        ("failed", "anna_flowers"),
        ("failed", "bob_jones"),
        ("failed", "carol_w"),
    ]
