"""Reading @SpamBot's answers: its known texts in English and Russian, and any date."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from salesbot.domain.spam_bot import SpamVerdict, read_spam_bot

FREE_EN = "Good news, no limits are currently applied to your account. You’re free as a bird!"
FREE_RU = "Ваш аккаунт свободен от каких-либо ограничений."
LIMITED_EN = (
    "I’m afraid some Telegram users found your messages annoying and forwarded them to our "
    "team of moderators for inspection. The moderators have confirmed the report and your "
    "account is now limited until 29 Sep 2026, 08:32 UTC.\n\nWhile the account is limited, "
    "you will not be able to send messages to people who do not have your number in their "
    "phone contacts or add them to groups and channels.\n\nYour account will be "
    "automatically released on 29 Sep 2026, 08:32 UTC. Please note that if you repeat what "
    "got you limited and users report you again, the limitations will last longer next time."
)
LIMITED_RU = (
    "К сожалению, кто-то из пользователей Telegram посчитал Ваши сообщения нежелательными и "
    "переслал их на проверку команде модераторов. Модераторы подтвердили, что жалоба была "
    "обоснованной.\n\nВаш аккаунт временно ограничен: Вы не можете писать тем, кто не сохранил "
    "Ваш номер в список контактов.\n\nОграничения будут автоматически сняты 6 Jun 2024, 20:20 "
    "UTC (по московскому времени — на три часа позже)."
)
LIMITED_RU_MOSCOW = (
    "Ваш аккаунт временно ограничен. Ограничения будут автоматически сняты 25 декабря 2026, "
    "14:00 (по московскому времени)."
)
HARSH_EN = (
    "Unfortunately, some phone numbers may trigger a harsh response from our anti-spam "
    "systems. If you think this is the case with you, you can submit a complaint to our "
    "moderators."
)

EN_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
RU_MONTHS = [
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
]  # fmt: skip


def test_free_in_both_languages():
    for text in (FREE_EN, FREE_RU, "Хорошие новости, никаких ограничений на ваш аккаунт нет."):
        assert read_spam_bot(text).verdict is SpamVerdict.FREE
        assert read_spam_bot(text).until is None


def test_limited_until_a_date_in_utc():
    answer = read_spam_bot(LIMITED_EN)
    assert answer.verdict is SpamVerdict.LIMITED
    assert answer.until == datetime(2026, 9, 29, 8, 32, tzinfo=timezone.utc)
    ru = read_spam_bot(LIMITED_RU)
    assert ru.until == datetime(2024, 6, 6, 20, 20, tzinfo=timezone.utc), "UTC, not Moscow"


def test_a_russian_month_in_moscow_time_is_three_hours_ahead_of_utc():
    answer = read_spam_bot(LIMITED_RU_MOSCOW)
    assert answer.verdict is SpamVerdict.LIMITED
    assert answer.until == datetime(2026, 12, 25, 11, 0, tzinfo=timezone.utc)


def test_a_russian_date_may_carry_its_year_mark_and_an_at():
    text = "Ограничения будут автоматически сняты 3 марта 2027 г. в 09:05 UTC."
    assert read_spam_bot(text).until == datetime(2027, 3, 3, 9, 5, tzinfo=timezone.utc)
    text = "Ограничения будут автоматически сняты 1 мая 2027, 00:30 (по московскому времени)."
    assert read_spam_bot(text).until == datetime(2027, 4, 30, 21, 30, tzinfo=timezone.utc)


def test_limited_with_no_end_given():
    answer = read_spam_bot(HARSH_EN)
    assert (answer.verdict, answer.until) == (SpamVerdict.LIMITED, None)
    assert read_spam_bot("Теперь Ваш аккаунт ограничен: ...").verdict is SpamVerdict.LIMITED


def test_anything_else_is_unknown_and_keeps_its_text():
    for text in ("", "Hello! Please use the buttons below.", "Сервис временно недоступен"):
        answer = read_spam_bot(text)
        assert (answer.verdict, answer.until, answer.text) == (SpamVerdict.UNKNOWN, None, text)


def test_an_impossible_date_is_not_a_date():
    answer = read_spam_bot("Your account will be automatically released on 31 Feb 2026, 25:00 UTC.")
    assert answer.until is None


moments = st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
    max_value=datetime(2040, 12, 31),  # noqa: DTZ001
    timezones=st.just(timezone.utc),
).map(lambda d: d.replace(second=0, microsecond=0))


@given(moments)
def test_any_release_date_in_english_is_read_back(moment):
    text = (
        "The moderators have confirmed the report. Your account will be automatically "
        f"released on {moment.day} {EN_MONTHS[moment.month - 1]} {moment.year}, "
        f"{moment:%H:%M} UTC. Please note that..."
    )
    assert read_spam_bot(text).until == moment


@given(moments, st.booleans())
def test_any_release_date_in_russian_is_read_back(moment, moscow):
    shown = moment.astimezone(timezone(timedelta(hours=3))) if moscow else moment
    zone = "UTC (по московскому времени — на три часа позже)"
    if moscow:
        zone = "(по московскому времени)"
    text = (
        "Ваш аккаунт временно ограничен.\n\nОграничения будут автоматически сняты "
        f"{shown.day} {RU_MONTHS[shown.month - 1]} {shown.year}, {shown:%H:%M} {zone}."
    )
    assert read_spam_bot(text).until == moment


@given(st.text(max_size=200))
def test_a_free_answer_stays_free_whatever_surrounds_it(noise):
    assert read_spam_bot(noise + FREE_RU + noise).verdict is SpamVerdict.FREE
