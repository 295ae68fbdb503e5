"""Review mode end to end: a draft's notice with its four buttons through the real
python-telegram-bot Application and the fake Bot API; /review N on|off; a newer message
of the prospect supersedes a waiting draft. In Russian (the default) and English."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from salesbot.adapters.admin_bot.catalogue import Texts
from salesbot.application.ports import IncomingMessage
from salesbot.domain.dialog import DialogStatus
from salesbot.domain.message import Delivery, OutKind
from tests.adapters.admin_bot.conftest import ADMIN, model_answer
from tests.fakes.bot_api_server import ApiCall

OPENER = "Здравствуйте! Я ИИ-ассистент Запись+. Удобно пару минут?"


class HeldClock:
    """The notices' window never closes by itself: a test flushes them when it looks."""

    def now(self) -> datetime:
        return datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)

    async def sleep(self, seconds: float) -> None:
        await asyncio.Event().wait()


def _buttons(call: ApiCall) -> list[tuple[str, str]]:
    markup = call.json("reply_markup") or {"inline_keyboard": []}
    return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]


async def review_world(make_world, language: str = "ru", mode: str = "openers"):
    world = await make_world(language=language, review_mode=mode, notifier_clock=HeldClock())
    world.account_id = await world.connected_account()
    return world


async def notices(world, api) -> list[ApiCall]:
    """What the notifier holds, sent now: the admins' copies of it (the first admin's)."""
    mark = api.mark()
    await world.bot_notifier.flush()
    return [c for c in api.since(mark, ["sendMessage"]) if c.chat_id == ADMIN]


async def started_with_draft(world, api, username: str, user_id: int) -> tuple[int, ApiCall]:
    """/start writes the opener as a draft; its notice, with the buttons."""
    world.telegram.add_user(username, user_id)
    world.llm.queue(model_answer(OPENER))
    _writing, _started = await world.admin.send(f"/start @{username}")
    [notice] = await notices(world, api)
    [draft] = [m for m in await world.messages() if m.delivery is Delivery.DRAFT]
    return draft.id, notice


async def press(world, api, data: str, notice: ApiCall) -> list[ApiCall]:
    mark = api.mark()
    await api.press_button(ADMIN, notice.result["message_id"], data, text=notice.text or "")
    return await world.admin.settle(mark)


async def delivery(world, message_id: int) -> Delivery | None:
    [message] = [m for m in await world.messages() if m.id == message_id]
    return message.delivery


async def test_the_draft_notice_carries_the_text_and_four_buttons_in_russian(make_world, api):
    world = await review_world(make_world)
    world.telegram.add_user("ivan_petrov", 5001)
    world.llm.queue(model_answer(OPENER))

    writing, started = await world.admin.send("/start @ivan_petrov")
    [notice] = await notices(world, api)

    [dialog] = await world.dialogs()
    [draft] = await world.messages()
    n, a, d = dialog.id, world.account_id, draft.id
    assert writing.startswith("Пишу первое сообщение для @ivan_petrov")
    assert started == (
        f"Диалог {n} с @ivan_petrov начат с аккаунта #{a}. Первое сообщение ждёт вашего "
        f"одобрения (черновик — отдельным сообщением):\n\n{OPENER}"
    )
    assert notice.text == (
        f"📝 Черновик ИИ для @ivan_petrov (диалог {n}, аккаунт #{a}, первое сообщение) — не "
        f"отправлен:\n\n{OPENER}\n\nОдобрить, исправить, переписать или выбросить? Ответ на это "
        f"сообщение — указание, с которым ИИ перепишет черновик. #draft{d}"
    )
    assert _buttons(notice) == [
        ("✅ Одобрить", f"draft:approve:{d}"),
        ("✏️ Исправить", f"draft:edit:{d}"),
        ("🔄 Переписать", f"draft:regen:{d}"),
        ("🗑 Выбросить", f"draft:discard:{d}"),
    ]
    assert draft.delivery is Delivery.DRAFT


@pytest.mark.parametrize("language", ["ru", "en"])
async def test_approve_queues_the_draft_once(make_world, api, language):
    t = Texts(language)
    world = await review_world(make_world, language)
    d, notice = await started_with_draft(world, api, "ivan_petrov", 5001)
    [dialog] = await world.dialogs()
    n = dialog.id

    [approved] = await press(world, api, f"draft:approve:{d}", notice)
    [again] = await press(world, api, f"draft:approve:{d}", notice)

    assert approved.text == t(
        "draft_approved", n=n, username="ivan_petrov", account_id=world.account_id
    )
    assert again.text == t("draft_not_waiting.approved")
    assert [(m.content, m.delivery) for m in await world.messages()] == [(OPENER, Delivery.PENDING)]
    assert api.since(0, ["answerCallbackQuery"])
    if language == "ru":
        assert approved.text == (
            f"Черновик одобрен: аккаунт #{world.account_id} отправит его @ivan_petrov "
            f"(диалог {n}) с учётом лимитов и пауз."
        )
        assert again.text == "Этот черновик уже одобрен — второй раз ничего не отправляется."


@pytest.mark.parametrize("language", ["ru", "en"])
async def test_edit_asks_for_the_text_and_the_reply_goes_in_its_place(make_world, api, language):
    t = Texts(language)
    world = await review_world(make_world, language)
    d, notice = await started_with_draft(world, api, "ivan_petrov", 5001)
    [dialog] = await world.dialogs()

    [prompt] = await press(world, api, f"draft:edit:{d}", notice)

    assert prompt.text == t("draft_edit_prompt", n=dialog.id, username="ivan_petrov", message_id=d)
    assert prompt.json("reply_markup") == {"force_reply": True, "selective": True}
    assert await delivery(world, d) is Delivery.DRAFT  # asking changes nothing
    mark = api.mark()
    text = "Добрый день! Это Анна из Запись+."
    await api.deliver(api.reply_update(ADMIN, text, to=prompt.result))
    [edited] = await world.admin.settle(mark)

    assert edited.text == t(
        "draft_edited", n=dialog.id, username="ivan_petrov", account_id=world.account_id
    )
    [message] = await world.messages()
    assert (message.content, message.delivery, message.kind) == (
        "Добрый день! Это Анна из Запись+.",
        Delivery.PENDING,
        OutKind.OPENER,
    )
    mark = api.mark()
    await api.deliver(api.reply_update(ADMIN, "Ещё раз", to=prompt.result))
    [late] = await world.admin.settle(mark)
    assert late.text == t("draft_not_waiting.approved")
    assert [m.content for m in await world.messages()] == ["Добрый день! Это Анна из Запись+."]


@pytest.mark.parametrize("language", ["ru", "en"])
async def test_regenerate_writes_a_new_draft_and_a_reply_to_its_notice_is_an_instruction(
    make_world, api, language
):
    t = Texts(language)
    world = await review_world(make_world, language)
    d, notice = await started_with_draft(world, api, "ivan_petrov", 5001)
    [dialog] = await world.dialogs()
    world.llm.queue(model_answer("Добрый день! 14 дней Запись+ бесплатно. Интересно?"))

    [rewritten] = await press(world, api, f"draft:regen:{d}", notice)

    assert rewritten.text == t("draft_rewritten", n=dialog.id, username="ivan_petrov")
    assert await delivery(world, d) is Delivery.DISCARDED
    [second] = await notices(world, api)
    [new] = [m for m in await world.messages() if m.delivery is Delivery.DRAFT]
    assert new.content == "Добрый день! 14 дней Запись+ бесплатно. Интересно?"
    assert f"#draft{new.id}" in (second.text or "")
    assert _buttons(second)[0] == (t("draft_button_approve"), f"draft:approve:{new.id}")

    world.llm.queue(model_answer("Здравствуйте! Запись+ напомнит клиентам о визите. Обсудим?"))
    mark = api.mark()
    await api.deliver(api.reply_update(ADMIN, "про напоминания клиентам", to=second.result))
    [again] = await world.admin.settle(mark)

    assert again.text == t("draft_rewritten", n=dialog.id, username="ivan_petrov")
    assert "про напоминания клиентам" in world.llm.requests[-1].system
    [third] = [m for m in await world.messages() if m.delivery is Delivery.DRAFT]
    assert third.content == "Здравствуйте! Запись+ напомнит клиентам о визите. Обсудим?"
    [stale] = await press(world, api, f"draft:regen:{d}", notice)
    assert stale.text == t("draft_not_waiting.discarded")


@pytest.mark.parametrize("language", ["ru", "en"])
async def test_discard_sends_nothing(make_world, api, language):
    t = Texts(language)
    world = await review_world(make_world, language)
    d, notice = await started_with_draft(world, api, "ivan_petrov", 5001)
    [dialog] = await world.dialogs()

    [discarded] = await press(world, api, f"draft:discard:{d}", notice)
    [approve_after] = await press(world, api, f"draft:approve:{d}", notice)

    assert discarded.text == t("draft_discarded_opener", n=dialog.id, username="ivan_petrov")
    assert approve_after.text == t("draft_not_waiting.discarded")
    assert [m.delivery for m in await world.messages()] == [Delivery.DISCARDED]
    assert (await world.dialog(dialog.id)).status is DialogStatus.STOPPED


@pytest.mark.parametrize("language", ["ru", "en"])
async def test_a_newer_message_supersedes_the_draft_and_its_buttons_say_so(
    make_world, api, language
):
    t = Texts(language)
    world = await review_world(make_world, language, mode="all")
    a = world.account_id
    n = await world.seed.dialog(a, "ivan_petrov", user_id=5001, minutes_ago=60)
    await world.seed.sent(n, a, OPENER, kind=OutKind.OPENER, minutes_ago=60)
    world.llm.queue(model_answer("Спасибо! Сколько у вас мастеров?"))
    await write(world, a, "Здравствуйте, что это?", 701)
    # The first reply is told too (on its own notice); the draft on its own, with buttons.
    [first_notice] = [c for c in await notices(world, api) if _buttons(c)]
    [first] = [m for m in await world.messages() if m.delivery is Delivery.DRAFT]
    world.llm.queue(model_answer("Понял, трое. Когда удобно созвониться на 15 минут?"))

    await write(world, a, "У нас трое мастеров", 702)

    assert await delivery(world, first.id) is Delivery.CANCELLED
    fresh_notice = [c for c in await notices(world, api) if _buttons(c)]
    [fresh] = [m for m in await world.messages() if m.delivery is Delivery.DRAFT]
    assert fresh.content == "Понял, трое. Когда удобно созвониться на 15 минут?"
    assert [f"#draft{fresh.id}" in (c.text or "") for c in fresh_notice] == [True]
    # What the draft answers: both messages, the first draft never went.
    said = "Здравствуйте, что это? / У нас трое мастеров"
    said = t("event_draft_answering", username="ivan_petrov", said=said)
    assert (fresh_notice[0].text or "").startswith(said + "\n\n")
    for action in ("approve", "edit", "regen", "discard"):
        [answer] = await press(world, api, f"draft:{action}:{first.id}", first_notice)
        assert answer.text == t("draft_not_waiting.superseded")
    assert await delivery(world, first.id) is Delivery.CANCELLED
    assert not [m for m in await world.messages() if m.delivery is Delivery.PENDING]
    [approved] = await press(world, api, f"draft:approve:{fresh.id}", fresh_notice[0])
    assert approved.text == t("draft_approved", n=n, username="ivan_petrov", account_id=a)
    if language == "ru":
        assert t("draft_not_waiting.superseded").startswith("Этот черновик заменён")


async def write(world, account_id: int, text: str, telegram_id: int) -> None:
    """The prospect writes; the reply job runs to its end (the fake clock skips the wait)."""
    await world.incoming.handle(
        IncomingMessage(
            account_id=account_id,
            user_id=5001,
            username="ivan_petrov",
            text=text,
            telegram_message_id=telegram_id,
            date=world.clock.now(),
        )
    )
    await world.incoming.drain()


@pytest.mark.parametrize("language", ["ru", "en"])
async def test_review_on_and_off_per_dialog(make_world, language):
    t = Texts(language)
    world = await make_world(language=language)
    a = await world.seed.account()
    n = await world.seed.dialog(a, "ivan_petrov")

    on = await world.admin.reply(f"/review {n} on")
    assert on == t("review_on", n=n, username="ivan_petrov")
    assert (await world.dialog(n)).review is True
    off = await world.admin.reply(f"/review {n} off")
    assert off == t("review_off", n=n, username="ivan_petrov")
    assert (await world.dialog(n)).review is False
    missing = await world.admin.reply(f"/review {n} maybe")
    assert missing == t("review_switch_missing", usage=t.command_usage("review"))
    assert await world.admin.reply("/review 987 on") == t("unknown_dialog", n=987)
    if language == "ru":
        assert on == f"Диалог {n} с @ivan_petrov: сообщения ИИ теперь ждут вашего одобрения."


async def test_a_draft_survives_a_restart_and_its_buttons_still_work(make_world, api):
    before = await review_world(make_world)
    d, notice = await started_with_draft(before, api, "ivan_petrov", 5001)
    await before.bot.stop()
    await before.incoming.aclose()

    after = await make_world(review_mode="openers")  # a new process on the same database
    [approved] = await press(after, api, f"draft:approve:{d}", notice)

    assert approved.text.startswith("Черновик одобрен: аккаунт #")
    assert [(m.content, m.delivery) for m in await after.messages()] == [(OPENER, Delivery.PENDING)]
