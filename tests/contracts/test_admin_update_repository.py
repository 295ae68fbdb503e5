"""AdminUpdateRepository: the admin bot's updates from their arrival to the end of their
handling, so that a crash loses none and runs none twice."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from salesbot.application.ports import AdminUpdate

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)
PAYLOAD = {"update_id": 7, "message": {"text": "/start @anna \x00 flowers"}}


async def test_an_update_is_recorded_once_begun_once_and_loses_its_payload_when_done(new_uow):
    async with new_uow() as uow:
        assert await uow.admin_updates.record(7, PAYLOAD, T0) is True
        assert await uow.admin_updates.record(7, {"update_id": 7}, T0) is False
        assert await uow.admin_updates.record(8, {"update_id": 8}, T0) is True
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.admin_updates.unfinished() == [
            AdminUpdate(7, "received", PAYLOAD),
            AdminUpdate(8, "received", {"update_id": 8}),
        ]
        assert await uow.admin_updates.start(7, T0) is True
        assert await uow.admin_updates.start(7, T0) is False  # Telegram gave it again
        await uow.commit()
    async with new_uow() as uow:
        assert [u.state for u in await uow.admin_updates.unfinished()] == ["started", "received"]
        await uow.admin_updates.finish(7)
        assert await uow.admin_updates.start(7, T0) is False
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.admin_updates.unfinished() == [
            AdminUpdate(8, "received", {"update_id": 8})
        ]
        assert await uow.admin_updates.record(7, PAYLOAD, T0) is False  # done stays done


async def test_only_done_updates_older_than_the_limit_are_pruned(new_uow):
    async with new_uow() as uow:
        for update_id, age in ((1, 3), (2, 3), (3, 0)):
            await uow.admin_updates.record(update_id, {}, T0 - timedelta(days=age))
        await uow.admin_updates.start(1, T0)
        await uow.admin_updates.finish(1)
        await uow.admin_updates.start(3, T0)
        await uow.admin_updates.finish(3)
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.admin_updates.prune(T0 - timedelta(days=1)) == 1
        await uow.commit()
    async with new_uow() as uow:
        assert [u.update_id for u in await uow.admin_updates.unfinished()] == [2]
        assert await uow.admin_updates.record(1, {}, T0) is True  # forgotten
        assert await uow.admin_updates.record(3, {}, T0) is False


async def test_a_started_update_put_back_may_be_begun_once_more_and_a_done_one_may_not(new_uow):
    async with new_uow() as uow:
        await uow.admin_updates.record(7, PAYLOAD, T0)
        await uow.admin_updates.record(8, {"update_id": 8}, T0)
        assert await uow.admin_updates.again(7) is False  # received, never begun
        await uow.admin_updates.start(7, T0)
        await uow.admin_updates.start(8, T0)
        await uow.admin_updates.finish(8)
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.admin_updates.again(7) is True
        assert await uow.admin_updates.again(7) is False
        assert await uow.admin_updates.again(8) is False  # done stays done
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.admin_updates.unfinished() == [AdminUpdate(7, "received", PAYLOAD)]
        assert await uow.admin_updates.start(7, T0) is True
        assert await uow.admin_updates.start(7, T0) is False
