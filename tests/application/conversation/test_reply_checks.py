"""What a reply must pass before it is queued; how long replies are cut and split."""

from salesbot.application.conversation.prompt import RULES, SECTION_HEADINGS
from salesbot.application.conversation.reply_checks import (
    EMPTY,
    LEAK,
    MALFORMED,
    PLACEHOLDER,
    TELEGRAM_LIMIT,
    TOO_LONG,
    LeakDetector,
    ReplyPolicy,
    check_reply,
    cut_to_length,
    split_into_parts,
)

SCRIPT = (
    "Запись+ — сервис онлайн-записи для небольших салонов: клиенты записываются сами по ссылке "
    "или через Telegram-бота салона круглосуточно, а напоминания за сутки и за два часа "
    "сокращают неявки. Предложение: 14 дней бесплатно и бесплатная настройка за один день."
)
POLICY = ReplyPolicy()
LONG_SENTENCES = (
    "Понимаю, звонки остаются привычным способом записи, и они никуда не денутся.",
    "Запись по ссылке добавляет канал для тех, кто пишет поздно вечером или ночью.",
    "Напоминания за сутки и за два часа заметно сокращают число неявок в салонах.",
    "Мастер видит расписание в телефоне и может сам переносить визиты клиентов.",
    "Владельцу приходит сводка по загрузке, выручке и повторным визитам за неделю.",
    "Подключение занимает один день, а настройку мы делаем бесплатно за вас.",
    "Первые четырнадцать дней сервис работает без оплаты и без привязки карты.",
    "Если у вас уже есть таблица клиентов, её можно загрузить одним файлом.",
    "Салоны вашего размера обычно окупают подписку за счёт двух спасённых визитов.",
    "Можно начать с одного мастера и посмотреть, как клиенты примут новую запись.",
    "Отзывы после визита собираются автоматически и помогают поднять рейтинг.",
    "Хотите, покажу за пятнадцать минут, как это выглядит на живом примере?",
    "Удобнее созвониться завтра утром или ближе к вечеру, когда меньше клиентов?",
    "Если сейчас не время, просто скажите, и я не буду отвлекать лишний раз.",
)


def detector(notes: str = "") -> LeakDetector:
    return (
        LeakDetector()
        .hide(RULES, size=8)
        .hide(SCRIPT, size=20)
        .hide(notes, size=12)
        .markers(SECTION_HEADINGS)
    )


def check(text: str, **kwargs):
    return check_reply(
        text,
        malformed=kwargs.pop("malformed", False),
        detector=detector(),
        policy=POLICY,
        split=kwargs.pop("split", True),
        last_attempt=kwargs.pop("last_attempt", False),
    )


def test_a_short_reply_goes_as_one_message():
    verdict = check("Здравствуйте! Удобно пару минут поговорить о записи клиентов?")
    assert verdict.accepted
    assert verdict.parts == ("Здравствуйте! Удобно пару минут поговорить о записи клиентов?",)


def test_a_long_reply_is_split_at_paragraphs_into_two_or_three_messages():
    paragraphs = [
        "Понимаю, звонки — привычный способ, и они никуда не денутся. " * 2,
        "Запись по ссылке — дополнительный канал для тех, кто пишет ночью. " * 2,
        "Хотите, покажу за 15 минут, как это выглядит у салона вашего размера? " * 2,
    ]
    text = "\n\n".join(p.strip() for p in paragraphs)
    parts = split_into_parts(text, POLICY)
    assert 2 <= len(parts) <= 3
    assert "".join(parts).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(
        " ", ""
    )
    assert all(p.strip() == p and p for p in parts)


def test_a_long_single_paragraph_is_split_at_sentences():
    sentences = [f"Это предложение номер {i} о пользе напоминаний для салона." for i in range(12)]
    parts = split_into_parts(" ".join(sentences), POLICY)
    assert 2 <= len(parts) <= 3
    assert all(part.endswith(".") for part in parts)


def test_an_over_long_reply_is_refused_once_then_cut_at_a_sentence():
    text = " ".join(LONG_SENTENCES)
    assert check(text).refusal == TOO_LONG
    verdict = check(text, last_attempt=True)
    assert verdict.accepted
    joined = " ".join(verdict.parts)
    assert len(joined) <= POLICY.max_chars + 10
    assert joined.endswith((".", "?")) and joined in text.replace("\n", " ")


def test_cutting_without_sentences_ends_at_a_word():
    cut = cut_to_length("слово " * 2000, 100)
    assert len(cut) <= 100 and cut.endswith("…")
    assert len(cut_to_length("x" * 10_000, TELEGRAM_LIMIT)) <= TELEGRAM_LIMIT


def test_empty_and_unreadable_replies_are_refused():
    assert check("   ").refusal == EMPTY
    assert check("", malformed=True).refusal == MALFORMED
    assert check('{"reply": "hi", "outcome"').refusal == MALFORMED


def test_placeholders_are_refused():
    assert check("Здравствуйте, [Имя]! Это Запись+.").refusal == PLACEHOLDER
    assert check("Best regards, [Your Name]").refusal == PLACEHOLDER


def test_quoting_the_rules_is_a_leak():
    leaked = (
        "My instructions say: never claim to be human. Never invent a name, a job title, a "
        "personal story, or where their contact came from."
    )
    assert check(leaked).refusal == LEAK


def test_repeating_a_section_heading_is_a_leak():
    assert check("Конечно! Honesty rules: я всегда говорю правду.").refusal == LEAK


def test_dumping_the_script_is_a_leak_but_using_a_phrase_of_it_is_not():
    assert check("Вот мой скрипт: " + SCRIPT).refusal == LEAK
    assert check("Могу предложить 14 дней бесплатно и бесплатная настройка за один день.").accepted


def test_quoting_the_operators_notes_is_a_leak():
    notes = (
        "Владелец трёх салонов в Казани, жаловался на неявки клиентов в соседнем чате владельцев"
    )
    verdict = check_reply(
        "Вы владелец трёх салонов в Казани, жаловался на неявки клиентов в соседнем чате "
        "владельцев?",
        malformed=False,
        detector=detector(notes),
        policy=POLICY,
        split=True,
    )
    assert verdict.refusal == LEAK


def test_an_honest_answer_about_being_an_ai_is_not_a_leak():
    assert check("Да, я ИИ-ассистент компании Запись+. Чем могу помочь?").accepted
    assert check("Yes, I'm the company's AI assistant. Shall I carry on?").accepted
