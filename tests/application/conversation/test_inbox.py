"""After a hand-off, a reached goal, a pause or a close, nobody answers the prospect but the
operator: every message they write is told to the admin at once (the first reply of a
dialog the AI leads is told as before, the later ones are the AI's)."""

from __future__ import annotations

from salesbot.domain.events import ProspectReplied, ProspectWroteToOperator
from tests.application.conversation_support import answer


async def say(world, text: str) -> None:
    await world.write(text)
    await world.clock.advance(world.debounce)
    await world.incoming.drain()


async def test_after_a_hand_off_every_message_of_the_prospect_reaches_the_admin(world):
    """Measured: 0 notices after a hand-off; the operator had to poll /view N."""
    dialog_id = await world.start()
    world.llm.queue(answer("Коллега свяжется с вами сегодня.", outcome="handoff"))
    await say(world, "Хочу поговорить с менеджером")
    calls = len(world.llm.calls)

    await say(world, "Когда позвонит?")
    await say(world, "Я на связи до 18:00")

    inbox = world.notifier.of_type(ProspectWroteToOperator)
    assert [(e.dialog_id, e.text, e.status, e.account_id) for e in inbox] == [
        (dialog_id, "Когда позвонит?", "paused", world.dialog(dialog_id).account_id),
        (dialog_id, "Я на связи до 18:00", "paused", world.dialog(dialog_id).account_id),
    ]
    assert len(world.llm.calls) == calls  # the AI stays silent


async def test_a_lost_lead_who_writes_again_is_told_to_the_operator(world):
    dialog_id = await world.start()
    world.llm.queue(answer("Спасибо, хорошего дня!", outcome="rejected"))
    await say(world, "Нет, не интересно")

    await say(world, "Хотя подождите, а сколько стоит?")

    [event] = world.notifier.of_type(ProspectWroteToOperator)
    assert (event.dialog_id, event.status) == (dialog_id, "finished")
    assert event.text == "Хотя подождите, а сколько стоит?"


async def test_while_the_ai_leads_only_the_first_reply_is_announced(world):
    await world.start()
    world.llm.queue(answer("Отлично! Сколько у вас мастеров?"), answer("Понял, спасибо."))
    await say(world, "Здравствуйте")
    await say(world, "Трое")

    assert len(world.notifier.of_type(ProspectReplied)) == 1
    assert world.notifier.of_type(ProspectWroteToOperator) == []
