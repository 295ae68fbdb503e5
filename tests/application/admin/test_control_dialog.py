import pytest

from salesbot.application.admin.control_dialog import (
    DialogControl,
    PauseDialog,
    ResumeDialog,
    SayInDialog,
    StopDialog,
)
from salesbot.application.errors import DatabaseUnavailable, DialogClosed, UnknownDialog
from salesbot.domain.dialog import DialogStatus
from salesbot.domain.errors import IllegalTransition
from salesbot.domain.message import Delivery, OutKind
from tests.application.admin_seed import Seed
from tests.application.conversation_support import World, answer
from tests.fakes import FakeClock, FakeUnitOfWork, InMemoryStore


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def seed(store, clock) -> Seed:
    return Seed(lambda: FakeUnitOfWork(store), clock)


@pytest.fixture
def control(store, clock) -> DialogControl:
    return DialogControl(lambda: FakeUnitOfWork(store), clock)


async def _dialog(store, dialog_id):
    async with FakeUnitOfWork(store) as uow:
        return await uow.dialogs.get(dialog_id)


async def _messages(store, dialog_id):
    async with FakeUnitOfWork(store) as uow:
        return await uow.messages.list_for_dialog(dialog_id)


async def test_stop_closes_the_dialog_and_cancels_everything_queued(store, seed, control):
    account = await seed.account()
    dialog = await seed.dialog(account, "ivan_petrov")
    await seed.sent(dialog, account, "Hello", kind=OutKind.OPENER)
    await seed.queued(dialog, account, "A reply", kind=OutKind.REPLY)
    await seed.queued(dialog, account, "By hand", kind=OutKind.MANUAL)

    changed = await control.stop(StopDialog(dialog))

    assert (changed.status, changed.username, changed.cancelled) == (
        DialogStatus.STOPPED,
        "ivan_petrov",
        2,
    )
    assert (await _dialog(store, dialog)).status is DialogStatus.STOPPED
    deliveries = [m.delivery for m in await _messages(store, dialog)]
    assert deliveries == [Delivery.SENT, Delivery.CANCELLED, Delivery.CANCELLED]


async def test_pause_silences_the_ai_but_keeps_the_operators_own_messages(store, seed, control):
    account = await seed.account()
    dialog = await seed.dialog(account, "ivan_petrov")
    await seed.queued(dialog, account, "AI reply", kind=OutKind.REPLY)
    await seed.queued(dialog, account, "AI follow-up", kind=OutKind.FOLLOW_UP)
    await seed.queued(dialog, account, "By hand", kind=OutKind.MANUAL)

    changed = await control.pause(PauseDialog(dialog))

    assert changed.status is DialogStatus.PAUSED and changed.cancelled == 2
    by_text = {m.content: m.delivery for m in await _messages(store, dialog)}
    assert by_text == {
        "AI reply": Delivery.CANCELLED,
        "AI follow-up": Delivery.CANCELLED,
        "By hand": Delivery.PENDING,
    }


async def test_resume_turns_the_ai_back_on(store, seed, control):
    account = await seed.account()
    dialog = await seed.dialog(account, "ivan_petrov", status=DialogStatus.PAUSED)
    changed = await control.resume(ResumeDialog(dialog))
    assert changed.status is DialogStatus.ACTIVE
    assert (await _dialog(store, dialog)).ai_enabled


async def test_say_queues_a_manual_message_for_the_dispatcher(store, seed, control, clock):
    account = await seed.account()
    dialog = await seed.dialog(account, "ivan_petrov", status=DialogStatus.PAUSED, minutes_ago=60)

    queued = await control.say(SayInDialog(dialog, "  Добрый день! Созвонимся?  "))

    [message] = await _messages(store, dialog)
    assert message.content == "Добрый день! Созвонимся?"
    assert (message.kind, message.delivery, message.account_id) == (
        OutKind.MANUAL,
        Delivery.PENDING,
        account,
    )
    assert message.send_after == clock.now()
    assert queued.message_id == message.id and queued.account_id == account
    assert (await _dialog(store, dialog)).last_activity_at == clock.now()
    assert queued.queued_before == 0


async def test_say_counts_the_dialogs_messages_still_to_go_before_it(store, seed, control):
    account = await seed.account()
    dialog = await seed.dialog(account, "ivan_petrov")
    await seed.queued(dialog, account, "AI reply waiting", kind=OutKind.REPLY)
    await seed.sent(dialog, account, "already out", kind=OutKind.REPLY)

    first = await control.say(SayInDialog(dialog, "one"))
    second = await control.say(SayInDialog(dialog, "two"))

    assert (first.queued_before, second.queued_before) == (1, 2)


@pytest.mark.parametrize(
    "action",
    [
        lambda c: c.stop(StopDialog(99)),
        lambda c: c.pause(PauseDialog(99)),
        lambda c: c.resume(ResumeDialog(99)),
        lambda c: c.say(SayInDialog(99, "hi")),
    ],
)
async def test_an_unknown_dialog_number_is_refused(control, action):
    with pytest.raises(UnknownDialog) as refused:
        await action(control)
    assert refused.value.dialog_id == 99


async def test_a_closed_dialog_cannot_be_resumed_nor_written_in(store, seed, control):
    account = await seed.account()
    dialog = await seed.dialog(account, "ivan_petrov", status=DialogStatus.STOPPED)

    with pytest.raises(IllegalTransition) as refused:
        await control.resume(ResumeDialog(dialog))
    assert (refused.value.current, refused.value.target) == ("stopped", "active")
    with pytest.raises(DialogClosed) as closed:
        await control.say(SayInDialog(dialog, "hi"))
    assert closed.value.status == "stopped"
    assert await _messages(store, dialog) == []


async def test_pausing_a_paused_dialog_changes_nothing(store, seed, control):
    account = await seed.account()
    dialog = await seed.dialog(account, "ivan_petrov", status=DialogStatus.PAUSED)
    with pytest.raises(IllegalTransition):
        await control.pause(PauseDialog(dialog))
    assert (await _dialog(store, dialog)).status is DialogStatus.PAUSED


# --- resuming answers what the prospect wrote meanwhile -------------------------------------


@pytest.fixture
async def talking(tmp_path):
    """The conversation engine on fakes, with DialogControl wired to it as the container
    wires them."""
    world = World(tmp_path, debounce=20)
    await world.add_account()
    world.control = DialogControl(world.uow, world.clock, replies=world.incoming)
    yield world
    await world.incoming.aclose()


async def test_resume_answers_what_the_prospect_wrote_while_paused(talking):
    dialog_id = await talking.start()
    await talking.control.pause(PauseDialog(dialog_id))
    await talking.write("Алло, вы тут? Сколько стоит?")
    await talking.clock.advance(3600)
    assert talking.pending(dialog_id) == [], "the AI is off"

    talking.llm.queue(answer("Да, я здесь! Тариф от 990 ₽ в месяц."))
    await talking.control.resume(ResumeDialog(dialog_id))
    await talking.incoming.drain()

    assert talking.pending(dialog_id) == ["Да, я здесь! Тариф от 990 ₽ в месяц."]
    assert talking.dialog(dialog_id).status is DialogStatus.ACTIVE


async def test_resume_writes_nothing_when_the_last_word_is_ours(talking):
    dialog_id = await talking.start()
    await talking.write("Интересно")
    talking.llm.queue(answer("Рад слышать!"))
    await talking.clock.advance(20)
    await talking.incoming.drain()
    await talking.deliver_pending()
    await talking.control.pause(PauseDialog(dialog_id))
    calls = len(talking.llm.calls)

    await talking.control.resume(ResumeDialog(dialog_id))
    await talking.incoming.drain()

    assert talking.pending(dialog_id) == []
    assert len(talking.llm.calls) == calls


async def test_resume_leaves_the_operators_own_queued_words_as_the_answer(talking):
    dialog_id = await talking.start()
    await talking.control.pause(PauseDialog(dialog_id))
    await talking.write("А подробнее?")
    await talking.control.say(SayInDialog(dialog_id, "Сейчас расскажу, это Иван."))

    await talking.control.resume(ResumeDialog(dialog_id))
    await talking.incoming.drain()

    assert talking.pending(dialog_id) == ["Сейчас расскажу, это Иван."]


async def test_a_resume_whose_reply_cannot_be_scheduled_still_resumes(talking):
    dialog_id = await talking.start()
    await talking.control.pause(PauseDialog(dialog_id))
    await talking.write("Ау?")

    class Broken:
        async def answer_unanswered_in(self, dialog_id: int) -> bool:
            raise DatabaseUnavailable("connection lost")

    control = DialogControl(talking.uow, talking.clock, replies=Broken())
    changed = await control.resume(ResumeDialog(dialog_id))

    assert changed.status is DialogStatus.ACTIVE
    assert talking.dialog(dialog_id).status is DialogStatus.ACTIVE
