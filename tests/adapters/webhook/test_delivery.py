"""The CRM webhook end to end: events the database queued with each dialog change, POSTed by
the deliverer through the httpx sender to a real receiver on 127.0.0.1 that fails for a while
(500s, then a refused connection, then OK). Nothing is lost, each dialog's order holds, every
request's signature passes the README's own recipe, retries are spaced by the back-off (on
the fake clock), a restart delivers what the last run did not, and neither the secret nor the
URL reaches a log."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from pathlib import Path

import pytest

from salesbot.adapters.logging.masking import secret_mask
from salesbot.adapters.webhook import HttpWebhookSender
from salesbot.application.webhooks.deliver import WebhookDeliverer
from salesbot.domain.dialog import Dialog, Outcome
from salesbot.domain.events import WebhookFailing, WebhookRecovered
from salesbot.domain.webhook import retry_delay
from tests.contracts.seeding import add_account
from tests.fakes import FakeClock, FakeNotifier
from tests.fakes.webhook_receiver import FakeWebhookReceiver
from tests.secrets import WEBHOOK_PATH, WEBHOOK_SECRET

README = Path(__file__).resolve().parents[3] / "README.md"


def readme_verify():
    """The `verify` of the README's "Webhook" part, run as a receiver would copy it."""
    part = README.read_text(encoding="utf-8").split("#### Webhook", 1)[1]
    snippet = re.search(r"```python\n(.*?)```", part, re.S).group(1)
    scope: dict = {}
    exec(snippet, scope)  # noqa: S102 - our own README, run as a receiver would copy it
    return scope["verify"]


@pytest.fixture
async def receiver():
    async with FakeWebhookReceiver(WEBHOOK_PATH) as server:
        yield server
        if server._runner is None:
            await server.start_again()  # a test that left it stopped


@pytest.fixture
def clock():
    return FakeClock()


def deliverer(uow_factory, receiver, clock, notifier=None) -> WebhookDeliverer:
    sender = HttpWebhookSender(receiver.url, WEBHOOK_SECRET, clock, timeout=2.0)
    return WebhookDeliverer(
        uow_factory,
        sender,
        notifier or FakeNotifier(),
        clock,
        alarm_after=timedelta(minutes=1),
        jitter=lambda: 0.0,  # each retry waits exactly half its step: 5, 10, 20, 40 s...
    )


async def two_dialogs_with_news(uow_factory) -> tuple[Dialog, Dialog]:
    """Started, then a goal for the first and a failure for the second: four events."""
    async with uow_factory() as uow:
        await uow.webhook_events.enable(True)
        account = await add_account(uow)
        first = await uow.dialogs.add(Dialog(account.id, "anna_flowers", campaign_id=None))
        second = await uow.dialogs.add(Dialog(account.id, "bob_jones"))
        await uow.commit()
    async with uow_factory() as uow:
        first.outcome = Outcome.GOAL
        first.pause("goal")
        await uow.dialogs.update(first)
        second.fail("privacy")
        await uow.dialogs.update(second)
        await uow.commit()
    return first, second


async def test_a_failing_receiver_gets_every_event_in_order_signed_and_spaced_by_the_backoff(
    uow_factory, receiver, clock, caplog
):
    caplog.set_level(logging.DEBUG)
    first, second = await two_dialogs_with_news(uow_factory)
    notifier = FakeNotifier()
    worker = deliverer(uow_factory, receiver, clock, notifier)
    start = clock.now()
    receiver.status = 500
    for _ in range(200):
        elapsed = (clock.now() - start).total_seconds()
        if elapsed == 30:
            await receiver.stop()  # connections refused from now on
        if elapsed == 100:
            receiver.status = 200
            await receiver.start_again()
        await worker.run_once()
        clock.advance(1)

    # Nothing lost, each dialog in its order.
    taken = [r.event for r in receiver.taken]
    assert sorted((e["dialog"]["id"], e["type"]) for e in taken) == [
        (first.id, "dialog_started"),
        (first.id, "goal"),
        (second.id, "dialog_started"),
        (second.id, "failed"),
    ]
    for dialog in (first, second):
        ids = [e["id"] for e in taken if e["dialog"]["id"] == dialog.id]
        assert ids == sorted(ids)
    goal = next(e for e in taken if e["type"] == "goal")
    assert goal["dialog"]["outcome"] == "goal" and goal["dialog"]["campaign_id"] is None
    assert goal["occurred_at"].endswith("Z")
    async with uow_factory() as uow:
        assert await uow.webhook_events.undelivered() == 0

    # Every request (failed ones too) is signed as the README says to check.
    verify = readme_verify()
    for request in receiver.received:
        timestamp = request.headers["X-Salesbot-Timestamp"]
        assert verify(
            WEBHOOK_SECRET,
            request.raw,
            timestamp,
            request.headers["X-Salesbot-Signature"],
            now=int(timestamp),
        )
        assert request.headers["X-Salesbot-Event"] == request.event["type"]
        assert not verify(
            "another secret",
            request.raw,
            timestamp,
            request.headers["X-Salesbot-Signature"],
            now=int(timestamp),
        )
    replayed = receiver.received[0]
    assert not verify(
        WEBHOOK_SECRET,
        replayed.raw,
        replayed.headers["X-Salesbot-Timestamp"],
        replayed.headers["X-Salesbot-Signature"],
        now=int(replayed.headers["X-Salesbot-Timestamp"]) + 301,
    )

    # The first event's tries: at 0, 5, 15 s (500s), 35 and 75 s (refused), then 155 s.
    first_event = min(e["id"] for e in taken)
    tries = [
        int(r.headers["X-Salesbot-Timestamp"]) - int(start.timestamp())
        for r in receiver.received
        if r.event["id"] == first_event
    ]
    gaps = [retry_delay(n, 0.0) for n in range(1, 5)]
    assert gaps == [5, 10, 20, 40]
    assert tries == [0, 5, 15, 15 + 20 + 40 + 80]

    # Told once that it fails, once that it is back; no secret, no URL in any log line.
    assert [type(e) for e in notifier.events] == [WebhookFailing, WebhookRecovered]
    assert notifier.events[0].waiting == 4
    logged = caplog.text
    assert "not delivered" in logged
    assert WEBHOOK_SECRET not in logged and WEBHOOK_PATH not in logged
    # httpx logs each request's URL (at INFO, when its level allows): the process's mask has
    # the URL and the key since the sender was made.
    assert secret_mask(f'HTTP Request: POST {receiver.url} "HTTP/1.1 200 OK"') == (
        'HTTP Request: POST *** "HTTP/1.1 200 OK"'
    )
    assert secret_mask(f"key={WEBHOOK_SECRET}") == "key=***"


async def test_a_new_deliverer_on_the_same_database_sends_what_the_last_one_did_not(
    uow_factory, receiver, clock
):
    first, second = await two_dialogs_with_news(uow_factory)
    receiver.status = 503
    crashed = deliverer(uow_factory, receiver, clock)
    await crashed.run_once()  # the first event failed; its retry is stored, due in 5 s
    del crashed

    receiver.status = 200
    restarted = deliverer(uow_factory, receiver, clock)
    while await restarted.run_once():
        pass
    # The other dialog goes on; the failed event waits for its stored retry time.
    assert [(r.event["dialog"]["id"], r.event["type"]) for r in receiver.taken] == [
        (second.id, "dialog_started"),
        (second.id, "failed"),
    ]
    clock.advance(5)
    while await restarted.run_once():
        pass
    assert [(r.event["dialog"]["id"], r.event["type"]) for r in receiver.taken[2:]] == [
        (first.id, "dialog_started"),
        (first.id, "goal"),
    ]
