"""The output guard: claims of being human, degenerate text and over-long replies are
never sent; a failure is regenerated once with a correction, a second one hands the dialog
to the operator with the draft; an empty or unreadable answer is the model's health, not the
dialog's: it waits and is answered when the model works again."""

from __future__ import annotations

import pytest

from salesbot.application.conversation.model_health import AnswerHealth
from salesbot.application.conversation.reply_checks import (
    DEGENERATE,
    HUMAN_CLAIM,
    TOO_LONG,
    LeakDetector,
    ReplyPolicy,
    check_reply,
    claims_human,
    is_degenerate,
)
from salesbot.application.ports import ChatTurn
from salesbot.domain.dialog import DialogStatus
from salesbot.domain.events import DialogPaused, LlmFailing, LlmRecovered
from tests.application.conversation.test_reply_checks import LONG_SENTENCES
from tests.application.conversation_support import answer

CLAIMS = [
    # Russian, in the forms a model writes them
    "Нет, я живой человек, меня зовут Анна.",
    "Я не бот, честно!",
    "Я же не робот :)",
    "Это не бот, это я, Иван из отдела продаж.",
    "Нет, не бот. Просто быстро печатаю.",
    "Я — человек.",
    "Я человек, просто отвечаю быстро.",
    "Я Анна, живой человек.",
    "Это снова я, живой человек!",
    "Я вполне живой!",
    "С вами общается живой менеджер.",
    "Вы общаетесь с реальным человеком.",
    "Я человек, а не программа.",
    "Живой человек, а не бот :)",
    "Я не нейросеть, я менеджер Zapis+.",
    "Я не искусственный интеллект.",
    "Не переживайте, я не ИИ.",
    "Я настоящий менеджер, не бот.",
    "Я не чат-бот, я работаю в компании.",
    "Ё-моё, я не робот, я обычный сотрудник.",
    # English
    "No, I'm a real person.",
    "I'm not a bot, I promise.",
    "I am not an AI.",
    "I'm human, just quick at typing.",
    "I'm Anna, a real person from the team.",
    "You're talking to a real person.",
    "A human, not a bot!",
    "This isn't a bot.",
    "I'm not automated.",
    "I am a human being.",
    "I'm a live person here.",
    "I'm not really a bot.",
    "i am not a robot lol",
    "Don't worry, I’m not an AI.",
]

HONEST = [
    "Я ИИ-ассистент компании Zapis+, а не человек.",
    "Нет, я не человек — я ИИ-ассистент.",
    "Да, я бот — ИИ-ассистент компании.",
    "Я настоящий ИИ-ассистент, не человек.",
    "Честно: я ИИ-ассистент. Живой менеджер подключится, если нужно.",
    "Наш менеджер — живой человек, он перезвонит.",
    "Я передам ваш вопрос живому человеку из команды.",
    "Человек из нашей команды свяжется с вами завтра.",
    "Это не реклама, просто хотел узнать про запись.",
    "Это не займёт много времени.",
    "Нет, не обязательно.",
    "Программа лояльности у вас есть?",
    "Это не программа, а сервис записи: всё работает в браузере.",
    "Нет, не машина решает — вы сами выбираете время.",
    "Я не могу этого обещать.",
    "I'm an AI assistant, not a human.",
    "No, I'm not a human: I'm the company's AI assistant.",
    "Yes, I'm an AI assistant. A human colleague can join.",
    "A real person from our team will call you.",
    "I can connect you with a real person.",
    "I'm not sure this fits you.",
    "I'm not able to share that.",
    "It's not a problem at all.",
    "No, a demo is free.",
]


@pytest.mark.parametrize("text", CLAIMS)
def test_a_claim_to_be_human_is_caught(text):
    assert claims_human(text)


@pytest.mark.parametrize("text", HONEST)
def test_honest_answers_and_talk_of_colleagues_pass(text):
    assert not claims_human(text)


DEGENERATE_TEXTS = [
    "X" * 1000,
    "слово " * 165,
    "Очень очень очень очень очень выгодно!",
    "хаха" * 10,
    "ab" * 30,
    "Супер" + "!" * 20,
    "Здравствуйте " + "a" * 45,
    "буду рад помочь буду рад помочь буду рад помочь буду рад помочь буду рад помочь "
    "буду рад помочь буду рад помочь",
]

ORDINARY = [
    "Здравствуйте! Удобно пару минут поговорить о записи клиентов?",
    "Да-да, понимаю!!! 😀😀😀",
    "Вот ссылка на демо: https://example.com/" + "a" * 60,
    "Понимаю, звонки — привычный способ, и они никуда не денутся.",
    "1 000 000 ₽ в год — это много, давайте посчитаем иначе.",
    "Телефон для связи: +7 900 000-00-00.",
    "Да, да, конечно.",
    "Ok, thanks! Shall we say Tuesday at 10:00?",
]


@pytest.mark.parametrize("text", DEGENERATE_TEXTS)
def test_degenerate_text_is_caught(text):
    assert is_degenerate(text)


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_messages_are_not_degenerate(text):
    assert not is_degenerate(text)


def test_each_rule_is_named_in_the_verdict():
    def verdict(text: str, **kwargs: bool):
        return check_reply(
            text,
            malformed=False,
            detector=LeakDetector(),
            policy=ReplyPolicy(),
            split=True,
            **kwargs,
        )

    assert verdict("Нет, я живой человек.").refusal == HUMAN_CLAIM
    assert verdict("X" * 1000).refusal == DEGENERATE
    long = " ".join(LONG_SENTENCES)
    assert verdict(long).refusal == TOO_LONG
    # the honest truth, even when it is about humans, goes
    assert verdict("Я ИИ-ассистент. Живой менеджер перезвонит вам завтра.").accepted


# --- through the conversation engine ---------------------------------------------------


async def reply_to(world, text: str, *, user_id: int = 5001) -> None:
    await world.write(text, user_id=user_id)
    await world.clock.advance(world.debounce)
    await world.incoming.drain()


async def test_a_denial_of_being_an_ai_is_regenerated_with_a_correction(world):
    dialog_id = await world.start()
    world.llm.queue(
        answer("Нет, я живой человек, меня зовут Анна."),
        answer("Я ИИ-ассистент компании Zapis+. Чем могу помочь?"),
    )

    await reply_to(world, "вы бот?")

    assert world.pending(dialog_id) == ["Я ИИ-ассистент компании Zapis+. Чем могу помочь?"]
    assert "claimed to be human" in world.llm.requests[-1].system
    assert world.notifier.of_type(DialogPaused) == []


@pytest.mark.parametrize(
    ("draft", "reason"),
    [
        ("Нет-нет, я не бот, честное слово!", "human"),
        ("Супер" + "!" * 40, "degenerate"),
        ("слово " * 165, "degenerate"),
    ],
)
async def test_a_second_failure_hands_the_dialog_to_the_operator_with_the_draft(
    world, draft, reason
):
    dialog_id = await world.start()
    world.llm.queue(answer(draft), answer(draft))

    await reply_to(world, "вы бот?")

    assert world.pending(dialog_id) == []  # nothing that failed a check is queued
    assert all(m.content != draft.strip() for m in world.messages(dialog_id))
    dialog = world.dialog(dialog_id)
    assert dialog.status is DialogStatus.PAUSED
    [event] = world.notifier.of_type(DialogPaused)
    assert reason in event.reason and event.draft == draft.strip()


async def test_a_long_answer_is_asked_shorter_once_then_cut(world):
    dialog_id = await world.start()
    long = " ".join(LONG_SENTENCES)
    world.llm.queue(answer(long), answer(long))

    await reply_to(world, "Расскажите всё")

    assert "at most 1000 characters" in world.llm.requests[-1].system
    sent = " ".join(world.pending(dialog_id))
    assert 0 < len(sent) <= 1000 and sent.endswith((".", "?"))
    assert world.dialog(dialog_id).status is DialogStatus.ACTIVE


def _username(turns: list[ChatTurn]) -> str:
    own = turns[1].content  # the dialog's own system message names the person
    return own.split("@", 1)[1].split(".", 1)[0]


async def test_a_model_outage_of_empty_answers_parks_no_dialog_and_every_prospect_is_answered(
    world,
):
    """The measured bug: 30 s of empty/unreadable answers paused 5 of 10 dialogs for good.
    Here the outage lasts 5 minutes: every dialog fails many rounds, and none is blamed."""
    dialogs = {}
    for n in range(10):
        dialogs[n] = await world.start(username=f"lead_{n}", user_id=6000 + n)
    outage_until = world.clock.now().timestamp() + 300

    def model(turns):
        if world.clock.now().timestamp() < outage_until:
            return "" if len(world.llm.requests) % 2 else "{not json"
        return answer(f"Ответ для {_username(turns)}.")

    world.llm.default = model
    for n in range(10):
        await world.write("Сколько стоит?", user_id=6000 + n)
    await world.clock.advance(world.debounce)
    for _ in range(24):  # the retries' backoff plays out in fake time
        await world.clock.advance(30)
    await world.incoming.drain()

    for n, dialog_id in dialogs.items():
        assert world.dialog(dialog_id).status is DialogStatus.ACTIVE
        assert world.pending(dialog_id) == [f"Ответ для lead_{n}."]
    assert world.notifier.of_type(DialogPaused) == []
    assert len(world.llm.requests) > 10 + 10 * 2 * 3  # each failed 3 rounds and more


async def test_a_dialog_the_model_alone_keeps_failing_is_handed_over_and_the_admin_told(world):
    broken = await world.start(username="lead_broken", user_id=7001)
    fine = await world.start(username="lead_fine", user_id=7002)

    def model(turns):
        if _username(turns) == "lead_broken":
            return ""
        return answer("Хорошо, записал.")

    world.llm.default = model
    await world.write("Вопрос", user_id=7001)
    await world.clock.advance(1)
    for _ in range(6):
        await world.write("Ещё вопрос", user_id=7002)
        await world.clock.advance(world.debounce)
        await world.clock.advance(40)
        await world.deliver_pending()
    await world.incoming.drain()

    assert world.dialog(broken).status is DialogStatus.PAUSED
    assert world.pending(broken) == []
    [event] = world.notifier.of_type(DialogPaused)
    assert event.dialog_id == broken
    assert "keeps failing for this dialog while it answers others" in event.reason
    assert "empty" in event.reason
    assert world.dialog(fine).status is DialogStatus.ACTIVE


async def test_only_unusable_answers_for_minutes_tell_the_admin_once_and_once_when_back(world):
    dialog_id = await world.start()
    world.llm.default = ""
    await world.write("Здравствуйте")
    await world.clock.advance(world.debounce)
    for _ in range(20):
        await world.clock.advance(30)
    assert len(world.notifier.of_type(LlmFailing)) == 1
    assert "empty or unreadable" in world.notifier.of_type(LlmFailing)[0].reason

    world.llm.default = answer("Извините за задержку!")
    for _ in range(12):
        await world.clock.advance(30)
    await world.incoming.drain()

    assert world.pending(dialog_id) == ["Извините за задержку!"]
    assert len(world.notifier.of_type(LlmFailing)) == 1
    assert len(world.notifier.of_type(LlmRecovered)) == 1


async def test_answer_health_blames_a_dialog_only_while_others_are_answered():
    health = AnswerHealth(strikes=3)
    assert not health.failed(1)
    assert not health.failed(1)
    assert not health.failed(1)  # three rounds, but nobody was answered: an outage
    await health.answered()
    assert health.failed(1)  # the model works for others: it is this dialog

    health.cleared(1)
    assert not health.failed(1)  # a new run of failures starts its count again
