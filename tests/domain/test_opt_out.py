import pytest

from salesbot.domain.opt_out import KeywordOptOutDetector

detector = KeywordOptOutDetector()


@pytest.mark.parametrize(
    "text",
    [
        "Не пишите мне больше",
        "не пиши",
        "Пожалуйста, больше не пишите.",
        "отпишись",
        "Отпишите меня от рассылки",
        "хватит мне писать",
        "Удалите мой номер",
        "Это спам",
        "Стоп",
        "STOP",
        "stop!",
        "Stop. Remove me from your list",
        "unsubscribe",
        "Please unsubscribe me",
        "Don't message me again",
        "do not contact me",
        "leave me alone",
        "stop messaging me",
    ],
)
def test_requests_to_stop_writing_are_opt_outs(text):
    assert detector.is_opt_out(text)


@pytest.mark.parametrize(
    "text",
    [
        "не интересно",
        "Не интересно, спасибо",
        "Нам это не нужно",
        "дорого",
        "not interested",
        "Not interested right now, maybe later",
        "too expensive",
        "I'll stop by your office tomorrow",
        "Can't stop thinking about it",
        "Какие у вас цены?",
        "Писать можно, звонить нет",
    ],
)
def test_objections_and_questions_are_not_opt_outs(text):
    assert not detector.is_opt_out(text)
