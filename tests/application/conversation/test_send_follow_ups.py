"""A prospect goes quiet after our message: one follow-up per silence, never more, never
after a no. On PostgreSQL: the candidates are found by a query in SQL."""

from datetime import datetime, timezone

import pytest

from salesbot.application.errors import LlmUnavailable
from salesbot.domain.dialog import DialogStatus
from salesbot.domain.events import DialogPaused
from salesbot.domain.message import Delivery, OutKind
from tests.application.conversation_support import SteppingClock, World, answer


@pytest.fixture
def world(pg_world):
    return pg_world


async def follow_ups(world, dialog_id):
    return [m for m in await world.read_messages(dialog_id) if m.kind is OutKind.FOLLOW_UP]


async def texts(world, dialog_id, delivery):
    return [m.content for m in await world.read_messages(dialog_id) if m.delivery is delivery]


async def test_one_follow_up_after_the_silence_and_never_a_second(world):
    dialog_id = await world.start()
    world.llm.default = answer("Напомню о себе: 14 дней бесплатно. Интересно?")

    await world.clock.advance(hours=23)
    assert await world.conversation.follow_ups.run_once() == 0

    await world.clock.advance(hours=1)
    assert await world.conversation.follow_ups.run_once() == 1
    [follow_up] = await follow_ups(world, dialog_id)
    assert follow_up.content == "Напомню о себе: 14 дней бесплатно. Интересно?"
    assert (await world.read_dialog(dialog_id)).follow_ups_sent == 1
    assert "follow-up 1 of 1" in world.llm.requests[-1].system
    assert "last one" in world.llm.requests[-1].system

    await world.deliver_pending()
    await world.clock.advance(hours=48)
    assert await world.conversation.follow_ups.run_once() == 0
    assert len(await follow_ups(world, dialog_id)) == 1


async def test_never_after_an_opt_out(world):
    dialog_id = await world.start()
    await world.write("Не пишите мне")
    world.llm.default = answer("Напоминаю о себе!")

    await world.clock.advance(hours=72)

    assert await world.conversation.follow_ups.run_once() == 0
    assert await follow_ups(world, dialog_id) == []
    assert (await world.read_dialog(dialog_id)).status is DialogStatus.OPTED_OUT


async def test_never_to_a_paused_or_finished_dialog(world):
    paused = await world.start("owner_paused", 5001)
    finished = await world.start("owner_finished", 5002)
    async with world.uow() as uow:
        for dialog_id, move in ((paused, "pause"), (finished, "finish")):
            dialog = await uow.dialogs.get(dialog_id)
            getattr(dialog, move)("operator")
            await uow.dialogs.update(dialog)
        await uow.commit()
    world.llm.default = answer("Напоминаю о себе!")

    await world.clock.advance(hours=48)

    assert await world.conversation.follow_ups.run_once() == 0


async def test_not_when_the_prospect_wrote_last(world):
    dialog_id = await world.start()
    world.llm.queue(answer("Отвечаю на ваш вопрос."))
    await world.write("Сколько стоит?")
    await world.clock.advance(20)
    await world.incoming.drain()
    # Our reply is queued, not sent (quota): no follow-up may jump in.
    await world.clock.advance(hours=48)
    assert await world.conversation.follow_ups.run_once() == 0
    assert await follow_ups(world, dialog_id) == []


async def test_a_new_message_cancels_a_queued_follow_up(world):
    dialog_id = await world.start()
    world.llm.queue(answer("Напоминаю о себе!"), answer("Здравствуйте! Рада ответу."))
    await world.clock.advance(hours=25)
    await world.conversation.follow_ups.run_once()

    await world.write("Ой, извините, пропустила. Интересно!")
    await world.clock.advance(20)
    await world.incoming.drain()

    assert await texts(world, dialog_id, Delivery.CANCELLED) == ["Напоминаю о себе!"]
    assert await texts(world, dialog_id, Delivery.PENDING) == ["Здравствуйте! Рада ответу."]


async def test_each_new_silence_after_the_prospect_spoke_gets_its_own_follow_up(world):
    dialog_id = await world.start()
    world.llm.queue(answer("Напоминаю о себе!"), answer("Здравствуйте! Рада ответу."))
    await world.clock.advance(hours=25)
    await world.conversation.follow_ups.run_once()
    await world.write("Ой, извините, пропустила. Интересно!")  # cancels the follow-up
    await world.clock.advance(20)
    await world.incoming.drain()
    await world.deliver_pending()
    dialog = await world.read_dialog(dialog_id)
    assert dialog.follow_ups_sent == 0, "the cancelled one was never sent"

    world.llm.queue(answer("Удалось посмотреть условия?"))
    await world.clock.advance(hours=25)

    assert await world.conversation.follow_ups.run_once() == 1
    assert await texts(world, dialog_id, Delivery.PENDING) == ["Удалось посмотреть условия?"]
    await world.deliver_pending()
    await world.clock.advance(hours=48)
    assert await world.conversation.follow_ups.run_once() == 0, "still one per silence"


async def test_the_model_being_down_skips_the_round_without_losing_the_follow_up(world):
    dialog_id = await world.start()
    world.llm.queue(LlmUnavailable("down"), answer("Напоминаю о себе!"))
    await world.clock.advance(hours=25)

    assert await world.conversation.follow_ups.run_once() == 0
    assert await world.conversation.follow_ups.run_once() == 1
    assert len(await follow_ups(world, dialog_id)) == 1


async def test_an_empty_follow_up_twice_waits_for_the_model_like_an_outage(world):
    dialog_id = await world.start()
    world.llm.queue("", "", answer("Напоминаю о себе!"))
    await world.clock.advance(hours=25)

    assert await world.conversation.follow_ups.run_once() == 0
    assert (await world.read_dialog(dialog_id)).status is DialogStatus.ACTIVE
    assert world.notifier.of_type(DialogPaused) == []

    assert await world.conversation.follow_ups.run_once() == 1
    assert [m.content for m in await follow_ups(world, dialog_id)] == ["Напоминаю о себе!"]


async def test_a_follow_up_claiming_to_be_human_twice_pauses_the_dialog_with_the_draft(world):
    dialog_id = await world.start()
    world.llm.queue(
        answer("Это снова я, живой человек, не бот!"), answer("Я не робот, честно. Ответите?")
    )
    await world.clock.advance(hours=25)

    assert await world.conversation.follow_ups.run_once() == 0

    assert (await world.read_dialog(dialog_id)).status is DialogStatus.PAUSED
    assert await follow_ups(world, dialog_id) == []
    [event] = world.notifier.of_type(DialogPaused)
    assert "human" in event.reason and event.draft == "Я не робот, честно. Ответите?"


async def test_max_follow_ups_zero_turns_them_off(tmp_path, engine):
    world = World(tmp_path, max_follow_ups=0, engine=engine)
    await world.add_account()
    await world.start()
    await world.clock.advance(hours=100)
    assert await world.conversation.follow_ups.run_once() == 0
    assert len(world.llm.calls) == 1


async def test_two_follow_ups_when_allowed(tmp_path, engine):
    world = World(tmp_path, max_follow_ups=2, engine=engine)
    await world.add_account()
    dialog_id = await world.start()
    world.llm.default = answer("Напоминаю!")
    for _ in range(4):
        await world.clock.advance(hours=25)
        await world.conversation.follow_ups.run_once()
        await world.deliver_pending()
    assert len(await follow_ups(world, dialog_id)) == 2
    assert "follow-up 2 of 2" in world.llm.requests[-1].system


# --- working hours and days ------------------------------------------------------------------


async def walk_to_the_next_round(world) -> None:
    """One pause of the follow-up loop (`run_forever` sleeps exactly this long)."""
    await world.clock.advance(world.conversation.follow_ups.pause())


async def test_a_follow_up_due_at_night_is_written_when_the_window_opens(tmp_path, engine):
    # Opener on Monday 09:00; silent 18 hours makes the follow-up due at 03:00 on Tuesday.
    world = World(
        tmp_path, engine=engine, working_hours="09:00-18:00", follow_up_after_hours=18
    )
    await world.add_account()
    dialog_id = await world.start()
    world.llm.default = answer("Напомню о себе: 14 дней бесплатно. Интересно?")
    calls = len(world.llm.calls)

    await world.clock.advance(hours=18)  # Tuesday 03:00
    assert await world.conversation.follow_ups.run_once() == 0
    assert len(world.llm.calls) == calls  # the model did not write it hours ahead
    opening = datetime(2026, 1, 6, 9, 0, tzinfo=timezone.utc)
    while world.clock.now() < opening:
        assert await world.conversation.follow_ups.run_once() == 0
        await walk_to_the_next_round(world)

    assert world.clock.now() == opening
    assert await world.conversation.follow_ups.run_once() == 1
    [follow_up] = await follow_ups(world, dialog_id)
    assert follow_up.send_after == world.clock.now()


async def test_with_mon_fri_the_weekend_is_skipped(tmp_path, engine):
    friday = datetime(2026, 1, 9, 9, 0, tzinfo=timezone.utc)
    world = World(
        tmp_path,
        engine=engine,
        working_hours="09:00-18:00",
        working_days="mon-fri",
        clock=SteppingClock(friday),
    )
    await world.add_account()
    dialog_id = await world.start()
    world.llm.default = answer("Напоминаю о себе!")

    await world.clock.advance(hours=24)  # Saturday 09:00: inside the hours, not the days
    assert await world.conversation.follow_ups.run_once() == 0
    await world.clock.advance(hours=27)  # Sunday 12:00
    assert await world.conversation.follow_ups.run_once() == 0
    monday = datetime(2026, 1, 12, 9, 0, tzinfo=timezone.utc)
    while world.clock.now() < monday:
        await walk_to_the_next_round(world)

    assert world.clock.now() == monday
    assert await world.conversation.follow_ups.run_once() == 1
    assert len(await follow_ups(world, dialog_id)) == 1


async def test_answers_go_at_any_hour(tmp_path, engine):
    world = World(tmp_path, engine=engine, working_hours="09:00-18:00", working_days="mon-fri")
    await world.add_account()
    dialog_id = await world.start()
    await world.deliver_pending()
    await world.clock.advance(hours=14)  # Monday 23:00
    world.llm.queue(answer("Да, напоминания приходят за день."))
    await world.write("А напоминания клиентам есть?")
    await world.clock.advance(world.debounce + 1)
    await world.incoming.drain()
    assert "Да, напоминания приходят за день." in await texts(world, dialog_id, Delivery.PENDING)


def _username(turns) -> str:
    return turns[1].content.split("@", 1)[1].split(".", 1)[0]


async def test_a_dialog_the_model_alone_fails_holds_up_no_other_follow_up_and_is_handed_over(
    world,
):
    broken = await world.start(username="lead_broken", user_id=7001)
    fine = await world.start(username="lead_fine", user_id=7002)
    later = await world.start(username="lead_later", user_id=7003)

    def model(turns):
        return "" if _username(turns) == "lead_broken" else answer("Напоминаю о себе!")

    world.llm.default = model
    await world.clock.advance(hours=25)

    assert await world.conversation.follow_ups.run_once() == 2  # the others are not held up
    assert [len(await follow_ups(world, d)) for d in (fine, later)] == [1, 1]
    for _ in range(2):
        assert await world.conversation.follow_ups.run_once() == 0

    assert (await world.read_dialog(broken)).status is DialogStatus.PAUSED
    [event] = world.notifier.of_type(DialogPaused)
    assert event.dialog_id == broken and "keeps failing for this dialog" in event.reason
    assert await follow_ups(world, broken) == []
