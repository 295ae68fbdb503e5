"""A prospect who clearly says no, or cannot be a customer: the model's `rejected` or
`not_qualified` sends one polite goodbye, finishes the dialog and tells the admin; no reply
or follow-up is ever written in it again."""

from __future__ import annotations

import pytest

from salesbot.domain.dialog import DialogStatus, Outcome
from salesbot.domain.events import DialogLost
from salesbot.domain.message import Delivery, OutKind
from tests.application.conversation_support import answer

GOODBYE = "Понимаю, спасибо, что ответили! Хорошего дня."


@pytest.mark.parametrize(
    ("outcome", "said"),
    [
        (Outcome.REJECTED, "Нет, спасибо, бюджета на это нет и не будет."),
        (Outcome.NOT_QUALIFIED, "Я тут просто администратор, решения принимает сеть в Москве."),
    ],
)
async def test_a_lost_lead_gets_one_goodbye_and_then_silence(pg_world, outcome, said):
    world = pg_world
    dialog_id = await world.start()
    world.llm.queue(
        answer(GOODBYE, outcome=outcome.value, summary="Салон, 3 мастера\nОтказ: нет бюджета")
    )

    await world.write(said)
    await world.clock.advance(world.debounce)
    await world.incoming.drain()

    dialog = await world.read_dialog(dialog_id)
    assert (dialog.status, dialog.outcome) == (DialogStatus.FINISHED, outcome)
    [goodbye] = [m for m in await world.read_messages(dialog_id) if m.kind is OutKind.REPLY]
    assert (goodbye.content, goodbye.delivery, goodbye.last_word) == (
        GOODBYE,
        Delivery.PENDING,
        True,
    )
    assert dialog.may_send(goodbye)  # the goodbye still goes though the dialog is closed
    [event] = world.notifier.of_type(DialogLost)
    assert (event.dialog_id, event.outcome) == (dialog_id, outcome.value)
    assert "Отказ: нет бюджета" in event.summary
    await world.deliver_pending()

    # no follow-up, however long the silence
    await world.clock.advance(hours=24 * 7)
    assert await world.conversation.follow_ups.run_once() == 0
    # and nothing written if they write again
    calls = len(world.llm.calls)
    await world.write("Ну ладно, а сколько стоит?")
    await world.clock.advance(world.debounce)
    await world.incoming.drain()
    assert len(world.llm.calls) == calls
    assert [m.content for m in await world.read_messages(dialog_id) if m.kind is OutKind.REPLY] == [
        GOODBYE
    ]


async def test_a_follow_up_never_ends_a_dialog_as_lost(pg_world):
    """Only the prospect's words can: a follow-up's outcome is read as continue."""
    world = pg_world
    dialog_id = await world.start()
    world.llm.queue(answer("Напомню о себе: 15 минут на демо?", outcome="rejected"))
    await world.clock.advance(hours=25)

    assert await world.conversation.follow_ups.run_once() == 1

    assert (await world.read_dialog(dialog_id)).status is DialogStatus.ACTIVE
    assert world.notifier.of_type(DialogLost) == []
