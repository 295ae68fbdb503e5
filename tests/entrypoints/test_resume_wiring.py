"""The container wires /resume to the conversation engine, and the conversation to every
account's incoming messages: resuming a paused dialog answers what the prospect wrote
meanwhile (the container on in-memory fakes, nothing running)."""

from __future__ import annotations

from salesbot.application.admin.control_dialog import PauseDialog, ResumeDialog
from salesbot.application.conversation.start_dialog import StartDialog
from salesbot.domain.account import Account
from salesbot.domain.message import Delivery, Direction
from salesbot.entrypoints.container import shut_down
from tests.fakes import (
    FakeClock,
    FakeLanguageModel,
    FakeNotifier,
    FakeTelegram,
    FakeUnitOfWork,
    InMemoryStore,
)
from tests.wiring import container_for, settings_for_tests


async def test_resume_through_the_assembled_app_answers_the_message_written_while_paused():
    store = InMemoryStore()
    clock = FakeClock()
    telegram = FakeTelegram(clock)
    llm = FakeLanguageModel(default="Здравствуйте! Расскажу подробнее.")
    container = container_for(
        settings_for_tests(),
        uow=lambda: FakeUnitOfWork(store),
        telegram=telegram,
        llm=llm,
        clock=clock,
        notifier=FakeNotifier(),
    )
    container.incoming_subscription()  # what `salesbot run` opens with the service
    incoming = container.incoming()
    control = container.dialog_control()
    try:
        async with container.uow_factory()() as uow:
            account = await uow.accounts.add(Account(phone="+79990000001", session_string="s-1"))
            await uow.commit()
        await telegram.connect(account, [])
        telegram.add_user("prospect", 5001)
        started = await container.start_dialog()(StartDialog("@prospect"))
        await control.pause(PauseDialog(started.dialog_id))
        await telegram.deliver(account.id, 5001, "А сколько это стоит?")  # type: ignore[arg-type]

        await control.resume(ResumeDialog(started.dialog_id))
        await incoming.drain()

        async with container.uow_factory()() as uow:
            history = await uow.messages.list_for_dialog(started.dialog_id)
        assert [(m.direction, m.delivery) for m in history[-2:]] == [
            (Direction.IN, None),
            (Direction.OUT, Delivery.PENDING),
        ]
        assert history[-1].content == "Здравствуйте! Расскажу подробнее."
    finally:
        await incoming.aclose()
        await shut_down(container)
