"""BotNotifier: every admin hears of every event in the admin's language; a burst goes as
one message; a failure to deliver is logged, never raised. Time comes from a clock the test
moves, so the batching window is something a test can be inside of."""

import asyncio
import logging
from datetime import datetime, timedelta, timezone

import pytest

from salesbot.adapters.admin_bot import build_bot, build_notifier
from salesbot.adapters.admin_bot.catalogue import Texts
from salesbot.adapters.admin_bot.formatting import Formatter
from salesbot.adapters.admin_bot.notices import describe_event
from salesbot.domain import events as ev
from tests.adapters.admin_bot.conftest import ADMIN, MOSCOW, SECOND_ADMIN
from tests.secrets import BOT_TOKEN

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


class SteppingClock:
    """`sleep` waits until the test's `advance` moves time past its deadline."""

    def __init__(self) -> None:
        self._now = NOW
        self._sleepers: list[tuple[datetime, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self._sleepers.append((self._now + timedelta(seconds=seconds), future))
        await future

    @property
    def sleeping(self) -> int:
        return sum(1 for _, f in self._sleepers if not f.done())

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        for deadline, future in self._sleepers:
            if deadline <= self._now and not future.done():
                future.set_result(None)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
async def notifier(api, clock):
    bot = build_bot(BOT_TOKEN, api.base_url)
    await bot.initialize()
    notifier = build_notifier(
        bot, admin_ids=(ADMIN, SECOND_ADMIN), clock=clock, tz=MOSCOW, window=3.0
    )
    yield notifier
    await notifier.aclose()
    await bot.shutdown()


REPLIED = ev.ProspectReplied(dialog_id=7, username="ivan_petrov", text="Да, расскажите")
GOAL = ev.GoalReached(dialog_id=7, username="ivan_petrov", summary="Демо во вторник в 11")
LIMITED = ev.AccountLimited(account_id=2, phone="+79001234567", until=NOW + timedelta(hours=24))


async def test_a_burst_goes_to_every_admin_as_one_message_when_the_window_closes(
    notifier, api, clock
):
    mark = api.mark()
    await notifier.notify(REPLIED)
    await notifier.notify(GOAL)
    await settle()
    clock.advance(2.0)
    await notifier.notify(LIMITED)  # still inside the window
    await notifier.notify(GOAL)  # told twice: told once
    await settle()
    assert api.since(mark, ["sendMessage"]) == [], "nothing before the window closes"

    clock.advance(1.0)
    to_first = await api.wait_replies(ADMIN, 1, since=mark)
    to_second = await api.wait_replies(SECOND_ADMIN, 1, since=mark)

    expected = (
        "Уведомления: 3\n\n"
        "💬 @ivan_petrov ответил(а) в диалоге 7:\nДа, расскажите\nПосмотреть: /view 7\n\n"
        "🎯 Цель достигнута в диалоге 7 с @ivan_petrov:\nДемо во вторник в 11\n\n"
        "⛔ Telegram ограничил аккаунт +79001234567 (#2) до 2026-01-06 12:00."
    )
    assert [c.text for c in to_first] == [expected]
    assert [c.text for c in to_second] == [expected]


async def test_an_event_after_the_window_goes_on_its_own(notifier, api, clock):
    mark = api.mark()
    await notifier.notify(REPLIED)
    await settle()
    clock.advance(3.0)
    await api.wait_replies(ADMIN, 1, since=mark)
    await notifier.notify(ev.LlmRecovered())
    await settle()
    clock.advance(3.0)
    replies = await api.wait_replies(ADMIN, 2, since=mark)
    assert [c.text for c in replies][1] == "✅ ИИ снова отвечает."


async def test_a_failed_delivery_is_logged_and_never_raised(notifier, api, clock, caplog):
    caplog.set_level(logging.ERROR, logger="salesbot.adapters.admin_bot")
    api.fail_next("sendMessage", error_code=500, description="Internal Server Error")
    mark = api.mark()
    await notifier.notify(GOAL)  # does not raise
    await settle()
    clock.advance(3.0)
    [delivered] = await api.wait_replies(SECOND_ADMIN, 1, since=mark)
    assert delivered.text.startswith("🎯 Цель достигнута")
    await settle()
    [failure] = [r for r in caplog.records if "not delivered" in r.getMessage()]
    assert str(ADMIN) in failure.getMessage() and "Демо во вторник" in failure.getMessage()


async def test_closing_sends_what_is_queued_without_waiting(notifier, api, clock):
    mark = api.mark()
    await notifier.notify(REPLIED)
    await notifier.aclose()
    [sent] = api.since(mark, ["sendMessage"])[:1]
    assert sent.text.startswith("💬 @ivan_petrov ответил(а)")
    assert clock.sleeping == 0


ALL_EVENTS = [
    REPLIED,
    GOAL,
    ev.HandoffRequested(dialog_id=7, username="ivan_petrov", summary="Хочет говорить с человеком"),
    ev.ProspectOptedOut(dialog_id=8, username="anna_salon"),
    ev.DialogFailed(dialog_id=9, username="ghost_user", reason="privacy"),
    ev.DialogPaused(dialog_id=10, username="lead_x", reason="the model asked for a human"),
    LIMITED,
    ev.FloodWaitStarted(account_id=5, phone="+79005555555", until=NOW + timedelta(minutes=40)),
    ev.AccountLoggedOut(account_id=3, phone="+79003333333"),
    ev.AccountBanned(account_id=4, phone="+79004444444"),
    ev.LlmFailing(reason="401 invalid key"),
    ev.LlmRecovered(),
    ev.WaitingForQuota(dialog_id=11, username="lead_y", next_at=NOW + timedelta(hours=1)),
    ev.WebhookFailing(reason="HTTP 503", minutes=15, waiting=42),
    ev.CampaignPaused(campaign_id=3, name="Весна", refused=3, reason="claims to be human"),
    ev.WebhookRecovered(down_minutes=20),
]


@pytest.mark.parametrize("language", ["ru", "en"])
@pytest.mark.parametrize("event", ALL_EVENTS, ids=lambda e: type(e).__name__)
def test_every_event_reads_as_a_sentence_in_each_language(event, language):
    text = describe_event(event, Formatter(Texts(language), MOSCOW))
    assert "{" not in text and "Event" not in text
    for value in vars(event).values():
        if isinstance(value, (int, str)) and value != "privacy":
            assert str(value) in text


def test_a_long_flood_wait_says_until_when_in_the_admins_time_zone_and_language():
    event = ev.FloodWaitStarted(account_id=5, phone="+79005555555", until=NOW + timedelta(hours=2))
    ru = describe_event(event, Formatter(Texts("ru"), MOSCOW))
    en = describe_event(event, Formatter(Texts("en"), MOSCOW))
    assert "FloodWait" in ru and "до 2026-01-05 14:00" in ru and "+79005555555 (#5)" in ru
    assert "wait (FloodWait) until 2026-01-05 14:00" in en


def test_a_failed_dialog_says_why_in_the_admins_language():
    event = ev.DialogFailed(dialog_id=9, username="ghost_user", reason="privacy")
    assert describe_event(event, Formatter(Texts("ru"), MOSCOW)) == (
        "⚠️ Диалог 9 с @ghost_user не удался: настройки приватности запрещают"
    )
    assert describe_event(event, Formatter(Texts("en"), MOSCOW)) == (
        "⚠️ Dialog 9 with @ghost_user failed: their privacy settings forbid it"
    )


def test_a_dialog_paused_by_the_output_guard_shows_the_held_draft_and_why_in_each_language():
    event = ev.DialogPaused(
        dialog_id=12,
        username="lead_z",
        reason="the model's answer claimed to be human or denied being an AI twice",
        draft="Нет, я живой человек!",
    )
    ru = describe_event(event, Formatter(Texts("ru"), MOSCOW))
    en = describe_event(event, Formatter(Texts("en"), MOSCOW))
    assert "назвался человеком" in ru and "«Нет, я живой человек!»" in ru and "не отправлен" in ru
    assert "claimed to be human" in en and "«Нет, я живой человек!»" in en and "not sent" in en
    assert "/say 12" in ru and "/say 12" in en


def test_a_dialog_the_model_keeps_failing_reads_in_russian():
    event = ev.DialogPaused(
        dialog_id=13,
        username="lead_w",
        reason="the model keeps failing for this dialog while it answers others "
        "(the model's answer was empty twice)",
    )
    ru = describe_event(event, Formatter(Texts("ru"), MOSCOW))
    assert "не справляется с этим диалогом" in ru and "/resume 13" in ru


async def test_a_notice_carrying_a_providers_error_body_is_masked(notifier, api, clock):
    key = "sk-or-v1-" + "0123456789abcdef" * 4
    mark = api.mark()
    await notifier.notify(ev.LlmFailing(reason=f"401: Invalid API key {key}"))
    await settle()
    clock.advance(3.0)
    [sent] = await api.wait_replies(ADMIN, 1, since=mark)
    assert "Invalid API key ***" in (sent.text or "")
    assert "0123456789abcdef" not in (sent.text or "")


def test_an_inbox_notice_says_how_to_answer_or_where_to_look_in_each_language():
    paused = ev.ProspectWroteToOperator(
        dialog_id=5, username="lead_q", account_id=2, text="Когда позвонит?", status="paused"
    )
    closed = ev.ProspectWroteToOperator(
        dialog_id=6, username="lead_r", account_id=2, text="А цена?", status="finished"
    )
    ru = describe_event(paused, Formatter(Texts("ru"), MOSCOW))
    en = describe_event(paused, Formatter(Texts("en"), MOSCOW))
    assert "Когда позвонит?" in ru and "/say 5" in ru and "/resume 5" in ru and "#2" in ru
    assert "the AI is not answering (paused)" in en and "/say 5" in en
    closed_ru = describe_event(closed, Formatter(Texts("ru"), MOSCOW))
    assert "закрытом диалоге 6" in closed_ru and "завершён" in closed_ru and "/view 6" in closed_ru


async def test_a_notice_about_one_paused_dialog_carries_reply_resume_and_stop(notifier, api, clock):
    mark = api.mark()
    for text in ("Алло?", "Вы тут?"):
        await notifier.notify(ev.ProspectWroteToOperator(5, "lead_q", 2, text, "paused"))
    await settle()
    clock.advance(3.0)
    [sent] = await api.wait_replies(ADMIN, 1, since=mark)
    [row] = sent.json("reply_markup")["inline_keyboard"]
    assert [(b["text"], b["callback_data"]) for b in row] == [
        ("✍️ Ответить", "inbox:reply:5"),
        ("🤖 Вернуть ИИ", "inbox:resume:5"),
        ("⛔ Остановить", "inbox:stop:5"),
    ]


async def test_a_burst_about_several_dialogs_gets_no_buttons(notifier, api, clock):
    mark = api.mark()
    await notifier.notify(ev.ProspectWroteToOperator(5, "lead_q", 2, "Алло?", "paused"))
    await notifier.notify(ev.ProspectWroteToOperator(6, "lead_r", 2, "Да?", "paused"))
    await settle()
    clock.advance(3.0)
    [sent] = await api.wait_replies(ADMIN, 1, since=mark)
    assert sent.json("reply_markup") is None
