"""`salesbot run`'s webhook component, from the container: with WEBHOOK_URL it turns the
database's event queue on and delivers to the receiver; without it, the queue is turned off
and no event is made."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from salesbot.application.webhooks.deliver import WebhookDeliverer
from salesbot.domain.dialog import Dialog
from salesbot.entrypoints.container import resolve, shut_down
from salesbot.entrypoints.serving import webhook_component
from tests.contracts.seeding import add_account
from tests.fakes import FakeClock, FakeNotifier
from tests.fakes.webhook_receiver import FakeWebhookReceiver
from tests.secrets import WEBHOOK_PATH, WEBHOOK_SECRET
from tests.wiring import container_for, settings_for_tests


async def service_of(container):
    """The two things the webhook component reads of the Service."""
    return SimpleNamespace(
        webhook=await resolve(container.webhook()),
        uow_factory=await resolve(container.uow_factory()),
    )


async def start_a_dialog(uow_factory) -> None:
    async with uow_factory() as uow:
        account = await add_account(uow)
        await uow.dialogs.add(Dialog(account.id, "anna_flowers"))
        await uow.commit()


async def test_with_a_webhook_url_the_service_delivers_every_dialogs_events(engine):
    async with FakeWebhookReceiver(WEBHOOK_PATH) as receiver:
        settings = settings_for_tests(WEBHOOK_URL=receiver.url, WEBHOOK_SECRET=WEBHOOK_SECRET)
        container = container_for(
            settings, engine=engine, clock=FakeClock(), notifier=FakeNotifier()
        )
        try:
            app = await service_of(container)
            assert isinstance(app.webhook, WebhookDeliverer)
            component = webhook_component(app)
            assert component.name == "webhook"
            running = asyncio.create_task(component.run())
            try:
                for _ in range(200):  # the queue is on once the component started
                    async with app.uow_factory() as uow:
                        if await uow.settings.get("webhook.enabled") is not None:
                            break
                    await asyncio.sleep(0.01)
                await start_a_dialog(app.uow_factory)
                for _ in range(300):
                    if receiver.taken:
                        break
                    await asyncio.sleep(0.01)
            finally:
                running.cancel()
        finally:
            await shut_down(container)
    [delivered] = receiver.taken
    assert delivered.event["type"] == "dialog_started"
    assert delivered.event["dialog"]["username"] == "anna_flowers"


async def test_without_a_webhook_url_the_queue_is_turned_off(engine):
    container = container_for(settings_for_tests(), engine=engine, clock=FakeClock())
    try:
        app = await service_of(container)
        assert app.webhook is None
        async with app.uow_factory() as uow:
            await uow.webhook_events.enable(True)  # a webhook of an earlier run
            await uow.commit()
        component = webhook_component(app)
        assert (component.name, component.once) == ("webhook off", True)
        await component.run()
        await start_a_dialog(app.uow_factory)
        async with app.uow_factory() as uow:
            assert await uow.webhook_events.undelivered() == 0
    finally:
        await shut_down(container)
