"""The container wires /resume to the conversation engine: resuming a paused dialog answers
what the prospect wrote meanwhile (bootstrap on in-memory fakes, nothing running)."""

from __future__ import annotations

from salesbot.application.admin.control_dialog import PauseDialog, ResumeDialog
from salesbot.application.conversation.start_dialog import StartDialog
from salesbot.domain.account import Account
from salesbot.domain.message import Delivery, Direction
from salesbot.entrypoints.bootstrap import bootstrap
from salesbot.entrypoints.settings import RUN_REQUIRED, load_settings
from tests import secrets
from tests.fakes import (
    FakeClock,
    FakeLanguageModel,
    FakeNotifier,
    FakeTelegram,
    FakeUnitOfWork,
    InMemoryStore,
)


async def test_resume_through_the_assembled_app_answers_the_message_written_while_paused():
    store = InMemoryStore()
    clock = FakeClock()
    telegram = FakeTelegram(clock)
    llm = FakeLanguageModel(default="Здравствуйте! Расскажу подробнее.")
    app = bootstrap(
        load_settings(RUN_REQUIRED, env_file=None, **secrets.env()),
        uow=lambda: FakeUnitOfWork(store),
        telegram=telegram,
        llm=llm,
        clock=clock,
        notifier=FakeNotifier(),
        with_admin_bot=False,
    )
    try:
        async with app.uow_factory() as uow:
            account = await uow.accounts.add(Account(phone="+79990000001", session_string="s-1"))
            await uow.commit()
        await telegram.connect(account, [])
        telegram.add_user("prospect", 5001)
        started = await app.conversation.start_dialog(StartDialog("@prospect"))
        await app.control.pause(PauseDialog(started.dialog_id))
        await telegram.deliver(account.id, 5001, "А сколько это стоит?")  # type: ignore[arg-type]

        await app.control.resume(ResumeDialog(started.dialog_id))
        await app.conversation.incoming.drain()

        async with app.uow_factory() as uow:
            history = await uow.messages.list_for_dialog(started.dialog_id)
        assert [(m.direction, m.delivery) for m in history[-2:]] == [
            (Direction.IN, None),
            (Direction.OUT, Delivery.PENDING),
        ]
        assert history[-1].content == "Здравствуйте! Расскажу подробнее."
    finally:
        await app.conversation.incoming.aclose()
        await app.aclose()
