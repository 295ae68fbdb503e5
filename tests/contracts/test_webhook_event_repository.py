"""WebhookEventRepository: while the webhook is enabled, every change of a dialog that a CRM
is told of queues its event with the change (on PostgreSQL, the trigger of revision 0017);
the deliverer sees each dialog's oldest undelivered event only, when it is due."""

from __future__ import annotations

from datetime import timedelta

from salesbot.domain.dialog import Outcome
from salesbot.domain.webhook import EventKind
from tests.contracts.seeding import T0, account_and_dialog, add_dialog, at, incoming

FAR = T0 + timedelta(days=3650)


async def enable(new_uow, enabled: bool = True) -> None:
    async with new_uow() as uow:
        await uow.webhook_events.enable(enabled)
        await uow.commit()


async def drain(new_uow) -> list[tuple[int, EventKind, dict]]:
    """Every queued event, delivered one head at a time: (dialog, kind, payload)."""
    seen = []
    while True:
        async with new_uow() as uow:
            due = await uow.webhook_events.due(FAR, limit=100)
            if not due:
                return seen
            for event in due:
                seen.append((event.dialog_id, event.kind, event.payload))
                await uow.webhook_events.delivered(event.id, T0)
            await uow.commit()


async def update(new_uow, dialog_id: int, change) -> None:
    async with new_uow() as uow:
        dialog = await uow.dialogs.get(dialog_id)
        change(dialog)
        await uow.dialogs.update(dialog)
        await uow.commit()


async def test_no_event_is_made_while_the_webhook_is_not_enabled(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    await update(new_uow, dialog.id, lambda d: d.fail("privacy"))
    await enable(new_uow)
    await enable(new_uow, False)
    async with new_uow() as uow:
        await add_dialog(uow, dialog.account_id, "bob_jones")
        await uow.commit()
    assert await drain(new_uow) == []


async def test_each_fact_of_a_dialog_is_one_event_in_the_order_it_happened(new_uow):
    await enable(new_uow)
    _, dialog = await account_and_dialog(new_uow)
    for number in (1, 2):  # the second message is no first reply
        async with new_uow() as uow:
            await uow.messages.add_incoming(incoming(dialog, f"Привет {number}", number))
            await uow.commit()
    await update(new_uow, dialog.id, lambda d: setattr(d, "warmth", 40))  # no event
    await update(new_uow, dialog.id, lambda d: setattr(d, "outcome", Outcome.HANDOFF))
    await update(new_uow, dialog.id, lambda d: setattr(d, "outcome", Outcome.GOAL))
    await update(new_uow, dialog.id, lambda d: d.opt_out("stop"))  # status and outcome: once
    events = await drain(new_uow)
    assert [kind for _, kind, _ in events] == [
        EventKind.DIALOG_STARTED,
        EventKind.FIRST_REPLY,
        EventKind.HANDOFF,
        EventKind.GOAL,
        EventKind.OPTED_OUT,
    ]
    assert events[0][2] == {
        "id": dialog.id,
        "username": "alice_smith",
        "user_id": None,
        "account_id": dialog.account_id,
        "campaign_id": None,
        "variant": None,
        "status": "active",
        "outcome": "continue",
        "stage": "introduction",
        "warmth": 0,
        "summary": "",
    }
    assert events[-1][2]["status"] == "opted_out" and events[-1][2]["warmth"] == 40


async def test_a_lost_lead_and_a_failed_dialog_are_told(new_uow):
    await enable(new_uow)
    _, first = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        second = await add_dialog(uow, first.account_id, "bob_jones")
        await uow.commit()
    await update(new_uow, first.id, lambda d: d.close_as_lost(Outcome.NOT_QUALIFIED))
    await update(new_uow, second.id, lambda d: d.fail("privacy"))
    events = await drain(new_uow)
    assert [(d, k) for d, k, _ in events] == [
        (first.id, EventKind.DIALOG_STARTED),
        (second.id, EventKind.DIALOG_STARTED),
        (first.id, EventKind.REJECTED),
        (second.id, EventKind.FAILED),
    ]
    assert events[2][2]["outcome"] == "not_qualified" and events[3][2]["status"] == "failed"


async def test_only_each_dialogs_oldest_undelivered_event_is_due_and_a_retry_waits(new_uow):
    await enable(new_uow)
    _, first = await account_and_dialog(new_uow)
    await update(new_uow, first.id, lambda d: setattr(d, "outcome", Outcome.GOAL))
    async with new_uow() as uow:
        second = await add_dialog(uow, first.account_id, "bob_jones")
        await uow.commit()
    async with new_uow() as uow:
        started_first, started_second = await uow.webhook_events.due(T0, limit=10)
        assert (started_first.dialog_id, started_second.dialog_id) == (first.id, second.id)
        assert started_first.next_attempt_at is None and started_first.attempts == 0
        await uow.webhook_events.failed(started_first.id, error="HTTP 500", retry_at=at(1))
        await uow.commit()
    async with new_uow() as uow:
        # The first dialog's goal waits behind its undelivered start; the other goes on.
        assert [e.id for e in await uow.webhook_events.due(T0, limit=10)] == [started_second.id]
        assert [e.id for e in await uow.webhook_events.due(at(1), limit=1)] == [started_first.id]
        [retried] = await uow.webhook_events.due(at(1), limit=1)
        assert (retried.attempts, retried.last_error, retried.next_attempt_at) == (
            1,
            "HTTP 500",
            at(1),
        )
        assert await uow.webhook_events.undelivered() == 3
        await uow.webhook_events.delivered(started_first.id, at(1))
        await uow.commit()
    async with new_uow() as uow:
        kinds = [e.kind for e in await uow.webhook_events.due(at(1), limit=10)]
        assert kinds == [EventKind.GOAL, EventKind.DIALOG_STARTED]  # oldest first
        assert await uow.webhook_events.undelivered() == 2


async def test_prune_forgets_delivered_events_only(new_uow):
    await enable(new_uow)
    _, dialog = await account_and_dialog(new_uow)
    await update(new_uow, dialog.id, lambda d: d.fail("privacy"))
    async with new_uow() as uow:
        started, _ = [*await uow.webhook_events.due(T0, limit=10), None]
        await uow.webhook_events.delivered(started.id, at(0))
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.webhook_events.prune(at(0)) == 0
        assert await uow.webhook_events.prune(at(1)) == 1
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.webhook_events.undelivered() == 1
        [failed] = await uow.webhook_events.due(T0, limit=10)
        assert failed.kind is EventKind.FAILED


async def test_a_change_rolled_back_leaves_no_event_and_a_committed_one_keeps_it(new_uow):
    await enable(new_uow)
    _, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        changed = await uow.dialogs.get(dialog.id)
        changed.fail("privacy")
        await uow.dialogs.update(changed)
        # no commit: the change and its event go together
    assert [kind for _, kind, _ in await drain(new_uow)] == [EventKind.DIALOG_STARTED]
