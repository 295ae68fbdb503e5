"""WebhookDeliverer on the in-memory store: the admin hears once that the receiver has been
failing for 15 minutes and once that it is back; while it is down each round costs one try;
delivered events are forgotten after 7 days, undelivered ones never."""

from __future__ import annotations

from datetime import timedelta

from salesbot.application.webhooks.deliver import WebhookDeliverer
from salesbot.domain.dialog import Dialog
from salesbot.domain.events import WebhookFailing, WebhookRecovered
from tests.contracts.seeding import add_account
from tests.fakes import FakeClock, FakeNotifier, FakeUnitOfWork, InMemoryStore
from tests.fakes.webhook_sender import FakeWebhookSender


async def store_with_dialogs(clock: FakeClock, count: int) -> InMemoryStore:
    store = InMemoryStore(clock)
    async with FakeUnitOfWork(store) as uow:
        await uow.webhook_events.enable(True)
        account = await add_account(uow)
        for number in range(count):
            await uow.dialogs.add(Dialog(account.id, f"lead_{number}"))
        await uow.commit()
    return store


async def run_for(deliverer: WebhookDeliverer, clock: FakeClock, seconds: int) -> None:
    for _ in range(seconds):
        while await deliverer.run_once():
            pass
        clock.advance(1)


async def test_the_admin_hears_once_that_it_fails_and_once_that_it_is_back():
    clock = FakeClock()
    store = await store_with_dialogs(clock, 3)
    sender, notifier = FakeWebhookSender(), FakeNotifier()
    deliverer = WebhookDeliverer(
        lambda: FakeUnitOfWork(store), sender, notifier, clock, jitter=lambda: 0.0
    )
    sender.down = "HTTP 503: maintenance"
    await run_for(deliverer, clock, 14 * 60)
    assert notifier.events == []
    await run_for(deliverer, clock, 20 * 60)
    [failing] = notifier.events
    assert failing == WebhookFailing("HTTP 503: maintenance", failing.minutes, 3)
    assert failing.minutes == 15  # told on time, though the next try is minutes later
    # A round stops at its first failure: one try per due event, not one per dialog per round.
    assert sender.tries < 3 * 12
    sender.down = None
    await run_for(deliverer, clock, 3600)
    assert [type(e) for e in notifier.events] == [WebhookFailing, WebhookRecovered]
    assert [e.payload["username"] for e in sender.taken] == ["lead_0", "lead_1", "lead_2"]


async def test_one_event_refused_for_15_minutes_is_told_though_the_others_go():
    """A receiver that refuses one payload (a 400 for a field it cannot map) while taking the
    rest holds that dialog's later events back: the admin hears of it all the same."""
    clock = FakeClock()
    store = await store_with_dialogs(clock, 3)
    sender, notifier = FakeWebhookSender(), FakeNotifier()
    deliverer = WebhookDeliverer(
        lambda: FakeUnitOfWork(store), sender, notifier, clock, jitter=lambda: 0.0
    )
    sender.refused["lead_1"] = "HTTP 400: unknown field"
    await run_for(deliverer, clock, 10)
    assert [e.payload["username"] for e in sender.taken] == ["lead_0", "lead_2"]
    for minute in range(16):  # other dialogs' events keep going while it is refused
        async with FakeUnitOfWork(store) as uow:
            await uow.dialogs.add(Dialog(1, f"later_{minute}"))
            await uow.commit()
        await run_for(deliverer, clock, 60)
    [failing] = notifier.events
    assert (failing.reason, failing.minutes, failing.waiting) == ("HTTP 400: unknown field", 15, 1)
    assert [e.payload["username"] for e in sender.taken][-1] == "later_15"

    del sender.refused["lead_1"]
    await run_for(deliverer, clock, 3600)
    assert [type(e) for e in notifier.events] == [WebhookFailing, WebhookRecovered]
    assert len(sender.taken) == 3 + 16 and "lead_1" in [e.payload["username"] for e in sender.taken]


async def test_delivered_events_are_forgotten_after_a_week_and_waiting_ones_never():
    clock = FakeClock()
    store = await store_with_dialogs(clock, 2)
    sender = FakeWebhookSender()
    deliverer = WebhookDeliverer(lambda: FakeUnitOfWork(store), sender, FakeNotifier(), clock)
    while await deliverer.run_once():
        pass
    async with FakeUnitOfWork(store) as uow:
        await uow.dialogs.add(Dialog(1, "late_lead"))  # one more, never delivered
        await uow.commit()
    sender.down = "no connection (ConnectError)"
    clock.advance(timedelta(days=7, minutes=1).total_seconds())
    await deliverer.run_once()
    assert [e.payload["username"] for e in store.tables.webhook_events.values()] == ["late_lead"]


async def test_the_service_looks_every_two_seconds_and_every_ten_while_the_receiver_fails():
    clock = FakeClock()
    store = await store_with_dialogs(clock, 1)
    sender = FakeWebhookSender()
    deliverer = WebhookDeliverer(lambda: FakeUnitOfWork(store), sender, FakeNotifier(), clock)
    assert deliverer.pause() == 2.0
    sender.down = "HTTP 502"
    await deliverer.run_once()
    assert deliverer.pause() == 10.0
    sender.down = None
    clock.advance(10)
    await deliverer.run_once()
    assert len(sender.taken) == 1 and deliverer.pause() == 2.0
