"""The AI steps aside (a reached goal, a hand-off): its confirmation reaches the prospect
through the real dispatcher, and the AI says nothing more while the dialog is paused.

Each half (the outcome pauses the dialog; a paused dialog holds the AI's messages back) is
tested on its own elsewhere; here they run together, as in the service."""

from __future__ import annotations

import pytest

from salesbot.application.admin.control_dialog import DialogControl, StopDialog
from salesbot.application.conversation.start_dialog import StartDialog
from salesbot.domain.dialog import DialogStatus, Outcome
from salesbot.domain.events import GoalReached, HandoffRequested
from salesbot.domain.message import Delivery, Direction
from tests.application.conversation_support import World, answer

PROSPECT = 5001
OPENER = "Здравствуйте! Я ИИ-ассистент Запись+. Удобно пару минут?"
CONFIRMATIONS = {
    "handoff": "Передам коллеге, он свяжется с вами.",
    "goal": "Отлично, записал демо на четверг в 15:00.",
}
ASKS = {
    "handoff": "Можно поговорить с живым менеджером?",
    "goal": "Давайте демо в четверг в 15:00.",
}
EVENTS = {"handoff": HandoffRequested, "goal": GoalReached}


class Service:
    """The conversation engine and the real dispatcher on one set of fakes."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.pool = world.container.pool()
        self.dispatcher = world.container.dispatcher()

    async def start(self) -> int:
        await self.pool.start_all()
        self.world.telegram.add_user("salon_owner", PROSPECT)
        self.world.llm.queue(answer(OPENER, stage="introduction", warmth=0))
        started = await self.world.conversation.start_dialog(StartDialog("salon_owner"))
        await self.send_all()
        return started.dialog_id

    async def send_all(self) -> None:
        """Let the dispatcher send everything it may, the minimum delay passing each time."""
        account_id = min(self.world.store.tables.accounts)
        for _ in range(20):
            await self.world.clock.advance(seconds=40)  # the delay and its jitter
            if not await self.dispatcher.dispatch_once(account_id):
                return
        raise AssertionError("the dispatcher never ran out of work")

    async def prospect_writes(self, text: str) -> None:
        await self.world.write(text)
        await self.world.clock.advance(seconds=self.world.debounce + 1)
        await self.world.incoming.drain()


@pytest.fixture
async def service(tmp_path):
    world = World(tmp_path)
    await world.add_account()
    yield Service(world)
    await world.incoming.aclose()


@pytest.mark.parametrize("outcome", ["handoff", "goal"])
async def test_the_confirmation_is_sent_once_and_the_ai_then_stays_silent(service, outcome):
    world = service.world
    dialog_id = await service.start()
    assert world.telegram.sent_to(PROSPECT) == [OPENER]

    world.llm.queue(answer(CONFIRMATIONS[outcome], outcome=outcome, stage="close"))
    await service.prospect_writes(ASKS[outcome])
    assert world.dialog(dialog_id).status is DialogStatus.PAUSED
    assert world.dialog(dialog_id).outcome is Outcome(outcome)
    assert len(world.notifier.of_type(EVENTS[outcome])) == 1

    await service.send_all()
    assert world.telegram.sent_to(PROSPECT) == [OPENER, CONFIRMATIONS[outcome]]
    assert world.dialog(dialog_id).status is DialogStatus.PAUSED

    # The prospect writes again: stored, but the AI is not asked and nothing is queued.
    asked = len(world.llm.requests)
    await service.prospect_writes("Спасибо, жду.")
    await service.send_all()
    assert world.incoming_texts(dialog_id)[-1] == "Спасибо, жду."
    assert len(world.llm.requests) == asked
    assert world.pending(dialog_id) == []
    assert world.telegram.sent_to(PROSPECT) == [OPENER, CONFIRMATIONS[outcome]]


async def test_a_confirmation_in_several_parts_goes_whole_and_in_order(service):
    world = service.world
    await service.start()
    first = (
        "Спасибо за подробности про ваш салон и трёх мастеров: я передам всё, что вы "
        "рассказали, нашему менеджеру, чтобы вам не пришлось повторять это ещё раз."
    )
    second = (
        "Он напишет вам сюда сегодня до 18:00 и предложит удобное время для короткого "
        "звонка; если планы изменятся, просто ответьте ему в этом чате."
    )
    world.llm.queue(answer(f"{first}\n\n{second}", outcome="handoff"))
    await service.prospect_writes(ASKS["handoff"])

    await service.send_all()

    assert world.telegram.sent_to(PROSPECT) == [OPENER, first, second]


async def test_the_prospect_writing_before_it_went_does_not_cancel_the_confirmation(service):
    world = service.world
    dialog_id = await service.start()
    world.llm.queue(answer(CONFIRMATIONS["handoff"], outcome="handoff"))
    await service.prospect_writes(ASKS["handoff"])
    assert world.pending(dialog_id) == [CONFIRMATIONS["handoff"]]

    await service.prospect_writes("И пусть позвонит, если можно.")
    await service.send_all()

    assert world.telegram.sent_to(PROSPECT) == [OPENER, CONFIRMATIONS["handoff"]]


async def test_the_operator_stopping_the_dialog_first_cancels_the_confirmation(service):
    world = service.world
    dialog_id = await service.start()
    world.llm.queue(answer(CONFIRMATIONS["handoff"], outcome="handoff"))
    await service.prospect_writes(ASKS["handoff"])

    await DialogControl(world.uow, world.clock).stop(StopDialog(dialog_id))
    await service.send_all()

    assert world.telegram.sent_to(PROSPECT) == [OPENER]
    assert world.cancelled(dialog_id) == [CONFIRMATIONS["handoff"]]


async def test_an_opt_out_after_the_hand_off_cancels_the_confirmation(service):
    world = service.world
    dialog_id = await service.start()
    world.llm.queue(answer(CONFIRMATIONS["handoff"], outcome="handoff"))
    await service.prospect_writes(ASKS["handoff"])

    await service.prospect_writes("Не пишите мне больше.")
    await service.send_all()

    assert world.telegram.sent_to(PROSPECT) == [OPENER]
    assert world.dialog(dialog_id).status is DialogStatus.OPTED_OUT
    out = [m for m in world.messages(dialog_id) if m.direction is Direction.OUT]
    assert [m.delivery for m in out] == [Delivery.SENT, Delivery.CANCELLED]
