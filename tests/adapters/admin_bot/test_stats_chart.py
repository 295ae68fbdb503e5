"""/stats sends its text, then the last 14 days as a PNG chart (or, when nothing happened in
them, a line that says so), in the admin's language."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import date, timedelta

import pytest
from PIL import Image

from salesbot.adapters.admin_bot.catalogue import MESSAGES, Texts
from salesbot.adapters.admin_bot.stats_chart import (
    COLOURS,
    DPI,
    SIZE_INCHES,
    account_bars,
    draw_stats_chart,
)
from salesbot.adapters.persistence.models import dialogs
from salesbot.application.admin.queries import AccountDays, DayCounts
from salesbot.application.admin.views import DailyStats
from salesbot.domain.dialog import Outcome
from salesbot.domain.message import OutKind
from tests.adapters.admin_bot.conftest import ADMIN

DAY = 24 * 60


async def seed_two_weeks(world) -> None:
    """Today: an opener and its reply; yesterday: a goal on the second account; three
    days ago: an opener."""
    first = await world.seed.account("+79000000001")
    second = await world.seed.account("+79000000002")
    today = await world.seed.dialog(first, "lead_today", minutes_ago=30)
    await world.seed.sent(today, first, "Hi", kind=OutKind.OPENER, minutes_ago=30)
    await world.seed.received(today, first, "Hello", minutes_ago=20)
    older = await world.seed.dialog(first, "lead_older", minutes_ago=3 * DAY)
    await world.seed.sent(older, first, "Hi", kind=OutKind.OPENER, minutes_ago=3 * DAY)
    won = await world.seed.dialog(second, "lead_won", minutes_ago=DAY)
    await world.seed.sent(won, second, "Deal?", minutes_ago=DAY)
    await world.poke(dialogs, won, outcome=Outcome.GOAL)


def png(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    assert image.format == "PNG"
    assert image.size == (int(SIZE_INCHES[0] * DPI), int(SIZE_INCHES[1] * DPI))
    return image


def colours_drawn(image: Image.Image) -> set[tuple[int, int, int]]:
    found = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert found is not None
    return {colour for _, colour in found}


def rgb(hex_colour: str) -> tuple[int, int, int]:
    value = int(hex_colour.lstrip("#"), 16)
    return value >> 16, (value >> 8) & 0xFF, value & 0xFF


async def test_stats_sends_the_last_14_days_as_a_png_after_the_text(world):
    await seed_two_weeks(world)

    text, chart = await world.admin.calls("/stats")

    assert text.method == "sendMessage" and text.text.startswith("Сегодня (с 2026-01-05 00:00)")
    assert (chart.method, chart.chat_id) == ("sendPhoto", ADMIN)
    assert chart.params["caption"] == "Последние 14 дней: всего по дням и по аккаунтам."
    image = png(chart.photo.content)
    # Bars of each series are drawn: sends, replies and goals all happened.
    assert {rgb(c) for c in COLOURS} <= colours_drawn(image)
    # What the chart was drawn from: the days in Moscow, today the last.
    daily = await world.use_cases.views.daily()
    assert daily.days == [date(2026, 1, 5) - timedelta(days=13 - i) for i in range(14)]
    assert daily.total[-4:] == [
        DayCounts(1, 0, 0),
        DayCounts(),
        DayCounts(1, 0, 1),
        DayCounts(1, 1, 0),
    ]
    assert sum(daily.total, DayCounts()) == DayCounts(3, 1, 1)
    assert [(a.phone, sum(a.days, DayCounts())) for a in daily.per_account] == [
        ("+79000000001", DayCounts(2, 1, 0)),
        ("+79000000002", DayCounts(1, 0, 1)),
    ]


async def test_the_chart_can_be_fetched_back_as_telegram_keeps_it(world):
    await seed_two_weeks(world)

    _, chart = await world.admin.calls("/stats")

    [size] = chart.result["photo"]
    assert (size["width"], size["height"]) == png(chart.photo.content).size
    telegram_file = await world.bot.application.bot.get_file(size["file_id"])
    assert bytes(await telegram_file.download_as_bytearray()) == chart.photo.content


async def test_the_chart_in_english(make_world):
    world = await make_world(language="en")
    await seed_two_weeks(world)

    text, chart = await world.admin.calls("/stats")

    assert text.text.startswith("Today (since 2026-01-05 00:00)")
    assert chart.method == "sendPhoto"
    assert chart.params["caption"] == "The last 14 days: in total per day, and per account."
    png(chart.photo.content)


EMPTY_NOTES = {
    "ru": "За последние 14 дней нет ни отправленных сообщений, ни ответов, ни целей: "
    "графику нечего показать.",
    "en": "No messages sent, no replies and no goals in the last 14 days: nothing to chart.",
}


@pytest.mark.parametrize("language", ["ru", "en"])
async def test_nothing_in_the_last_14_days_is_said_instead_of_a_blank_chart(make_world, language):
    world = await make_world(language=language)
    account = await world.seed.account()
    old = await world.seed.dialog(account, "lead_old", minutes_ago=20 * DAY)
    await world.seed.sent(old, account, "Hi", kind=OutKind.OPENER, minutes_ago=20 * DAY)
    mark = world.api.mark()

    calls = await world.admin.calls("/stats")

    assert [c.method for c in calls] == ["sendMessage", "sendMessage"]
    assert calls[1].text == EMPTY_NOTES[language]
    assert world.api.since(mark, ["sendPhoto"]) == []


class RecordingTexts(Texts):
    """Texts that note every key asked for."""

    def __init__(self, language) -> None:
        super().__init__(language)
        self.keys: set[str] = set()

    def __call__(self, key: str, **values: object) -> str:
        self.keys.add(key)
        return super().__call__(key, **values)


def many_accounts(count: int) -> DailyStats:
    days = [date(2026, 1, 5) - timedelta(days=13 - i) for i in range(14)]
    per_account = [
        AccountDays(i, f"+7900000{i:04d}", [DayCounts(i, i // 2, i % 2)] * 14)
        for i in range(1, count + 1)
    ]
    per_account.append(AccountDays(count + 1, "+79009999999", [DayCounts()] * 14))
    total = [sum((a.days[d] for a in per_account), DayCounts()) for d in range(14)]
    return DailyStats(days, total, per_account)


def test_every_word_on_the_chart_comes_from_the_catalogue_in_both_languages():
    for language in ("ru", "en"):
        texts = RecordingTexts(language)
        png(draw_stats_chart(many_accounts(10), texts))
        assert texts.keys >= {"stats_chart_daily", "stats_chart_sent", "stats_chart_others"}
        assert all(set(MESSAGES[key]) == {"ru", "en"} for key in texts.keys)


def test_past_the_top_accounts_the_rest_are_one_bar_and_idle_ones_are_left_out():
    bars = account_bars(many_accounts(10), Texts("en"), top=6)

    assert [bar.label for bar in bars] == [
        "+79000000010", "+79000000009", "+79000000008", "+79000000007", "+79000000006",
        "+79000000005",
        "Others (4)",
    ]  # fmt: skip
    # The others: accounts 1 to 4, over 14 days.
    assert bars[-1].counts == DayCounts(14 * 10, 14 * (0 + 1 + 1 + 2), 14 * 2)
    # Up to one more than the top, every account has its own bar.
    assert len(account_bars(many_accounts(7), Texts("en"), top=6)) == 7


def test_the_service_starts_without_importing_matplotlib():
    """It is imported by the first chart: start-up and the other commands never pay it."""
    code = (
        "import sys, salesbot.entrypoints.container, salesbot.adapters.admin_bot.bot; "
        "sys.exit('matplotlib' in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
