"""/start, /stop, /pause, /resume, /say, /list, /view, /stats end to end: the admin's
message travels as real HTTP through python-telegram-bot to the real use-cases."""

from datetime import timedelta

from salesbot.adapters.admin_bot.catalogue import Texts
from salesbot.adapters.admin_bot.formatting import Formatter
from salesbot.adapters.admin_bot.notices import describe_event
from salesbot.adapters.admin_bot.replies import send_text
from salesbot.adapters.persistence.models import accounts, dialogs, messages
from salesbot.domain import events as ev
from salesbot.domain.dialog import DialogStatus, Outcome, Stage
from salesbot.domain.message import Delivery, OutKind
from tests.adapters.admin_bot.conftest import ADMIN, MOSCOW, model_answer
from tests.fakes.bot_api_server import ApiCall

OPENER = "Здравствуйте! Я из Запись+. Удобно пару минут?"


async def test_start_writes_an_opener_and_queues_it_from_a_connected_account(world):
    account = await world.connected_account()
    world.telegram.add_user("ivan_petrov", 5001)
    world.llm.queue(model_answer(OPENER))

    writing, answer = await world.admin.send("/start @Ivan_Petrov владелец салона,\nищет CRM")

    [dialog] = await world.dialogs()
    assert writing == (
        "Пишу первое сообщение для @ivan_petrov… Сообщу здесь, когда будет готово; "
        "другие команды тем временем работают."
    )
    assert answer == (
        f"Диалог {dialog.id} с @ivan_petrov начат с аккаунта #{account}. "
        f"Первое сообщение в очереди:\n\n{OPENER}"
    )
    assert dialog.notes == "владелец салона,\nищет CRM"
    [opener] = await world.messages()
    assert (opener.kind, opener.delivery, opener.content) == (
        OutKind.OPENER,
        Delivery.PENDING,
        OPENER,
    )


async def test_stop_pause_resume_and_say_steer_one_dialog(world):
    account = await world.seed.account()
    n = await world.seed.dialog(account, "ivan_petrov")
    await world.seed.queued(n, account, "AI reply waiting", kind=OutKind.REPLY)

    assert await world.admin.reply(f"/pause {n}") == (
        f"Диалог {n} с @ivan_petrov на паузе: ИИ не пишет (отменено его сообщений в очереди: 1)."
        f" Написать самому: /say {n} <текст>; вернуть ИИ: /resume {n}"
    )
    assert await world.admin.reply(f"/say {n} Добрый день!\nУдобно завтра в 11?") == (
        f"Сообщение для @ivan_petrov (диалог {n}) в очереди: аккаунт #{account} "
        "отправит его, выдержав паузу между своими сообщениями; дневной лимит его не задерживает."
    )
    manual = [m for m in await world.messages() if m.kind is OutKind.MANUAL]
    assert [(m.content, m.delivery) for m in manual] == [
        ("Добрый день!\nУдобно завтра в 11?", Delivery.PENDING)
    ]
    assert await world.admin.reply(f"/resume {n}") == f"ИИ снова ведёт диалог {n} с @ivan_petrov."
    assert (await world.dialog(n)).status is DialogStatus.ACTIVE
    assert await world.admin.reply(f"/stop {n}") == (
        f"Диалог {n} с @ivan_petrov остановлен. Отменено сообщений в очереди: 1."
    )
    assert (await world.dialog(n)).status is DialogStatus.STOPPED


async def test_say_goes_out_past_a_used_daily_cap_after_the_minimum_delay(world):
    account = await world.seed.account()
    world.telegram.add_user("ivan_petrov", 5001)
    world.telegram.add_user("anna_salon", 5002)
    n = await world.seed.dialog(account, "ivan_petrov", status=DialogStatus.PAUSED, user_id=5001)
    waiting = await world.seed.dialog(account, "anna_salon", user_id=5002)
    await world.seed.queued(waiting, account, "AI reply waiting", kind=OutKind.REPLY)
    last_send = world.clock.now() - timedelta(seconds=10)
    today = world.clock.now().date()
    # The day's cap (20) is used.
    await world.poke(accounts, account, daily_messages=20, quota_day=today, last_used=last_send)

    assert await world.admin.reply(f"/say {n} Добрый день!") == (
        f"Сообщение для @ivan_petrov (диалог {n}) в очереди: аккаунт #{account} "
        "отправит его, выдержав паузу между своими сообщениями; дневной лимит его не задерживает."
    )
    pool, dispatcher = world.container.pool(), world.container.dispatcher()
    assert await pool.start(account)
    assert not await dispatcher.dispatch_once(account), "MIN_MESSAGE_DELAY (30 s) still holds"
    world.clock.advance(20)
    assert await dispatcher.dispatch_once(account)
    assert not await dispatcher.dispatch_once(account)

    assert [m.text for m in world.telegram.sent] == ["Добрый день!"]
    by_dialog = {m.dialog_id: m for m in await world.messages() if m.delivery is not None}
    assert by_dialog[n].delivery is Delivery.SENT
    assert by_dialog[n].sent_at >= last_send + timedelta(seconds=30)
    assert by_dialog[waiting].delivery is Delivery.PENDING, "the AI's waits for tomorrow"
    assert (await world.account(account)).daily_messages == 21
    await pool.stop(account)


async def test_say_tells_when_the_dialogs_earlier_messages_go_first(make_world):
    world = await make_world(language="en")
    account = await world.seed.account()
    n = await world.seed.dialog(account, "ivan_petrov")
    await world.seed.queued(n, account, "AI reply waiting", kind=OutKind.REPLY)

    assert await world.admin.reply(f"/say {n} Hello!") == (
        f"Message to @ivan_petrov (dialog {n}) queued: account #{account} sends it "
        "after the pause between its messages; the daily limit does not hold it back. "
        "Ahead of it in this dialog's queue: 1; it goes after them."
    )


async def test_resume_answers_what_the_prospect_wrote_during_the_pause(world):
    account = await world.connected_account()
    n = await world.seed.dialog(
        account, "ivan_petrov", status=DialogStatus.PAUSED, user_id=5001, minutes_ago=90
    )
    await world.seed.sent(n, account, "Здравствуйте!", kind=OutKind.OPENER, minutes_ago=90)
    await world.seed.received(n, account, "Алло, вы тут? Сколько стоит?", minutes_ago=30)
    world.llm.queue(model_answer("Да, я здесь! Тариф от 990 ₽ в месяц."))

    assert await world.admin.reply(f"/resume {n}") == f"ИИ снова ведёт диалог {n} с @ivan_petrov."
    await world.incoming.drain()

    queued = [
        m.content
        for m in await world.messages()
        if m.kind is OutKind.REPLY and m.delivery is Delivery.PENDING
    ]
    assert queued == ["Да, я здесь! Тариф от 990 ₽ в месяц."]


def _buttons(call: ApiCall) -> list[tuple[str, str]]:
    markup = call.json("reply_markup") or {"inline_keyboard": []}
    return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]


async def test_list_pages_newest_activity_first_with_buttons(world, api):
    account = await world.seed.account()
    ids = [
        await world.seed.dialog(
            account, f"lead_{i}", minutes_ago=10 * i, stage=Stage.VALUE, warmth=10 * i
        )
        for i in range(4)
    ]
    await world.seed.dialog(account, "closed_lead", status=DialogStatus.FINISHED)

    [first] = await world.admin.calls("/list")

    assert first.text == "\n".join(
        [
            "Открытые диалоги: 4 (стр. 1/2), сначала свежие:",
            f"{ids[0]}. @lead_0 — активен, этап: ценность, теплота 0/100, 2026-01-05 12:00",
            f"{ids[1]}. @lead_1 — активен, этап: ценность, теплота 10/100, 2026-01-05 11:50",
            f"{ids[2]}. @lead_2 — активен, этап: ценность, теплота 20/100, 2026-01-05 11:40",
        ]
    )
    assert _buttons(first) == [("Вперёд ▶", "list:2")]

    mark = api.mark()
    message_id = first.result["message_id"]
    await api.press_button(ADMIN, message_id, "list:2", text=first.text or "")
    [edit] = await api.wait_replies(ADMIN, 1, since=mark, methods=["editMessageText"])
    assert edit.params["message_id"] == str(message_id)
    assert edit.text.splitlines() == [
        "Открытые диалоги: 4 (стр. 2/2), сначала свежие:",
        f"{ids[3]}. @lead_3 — активен, этап: ценность, теплота 30/100, 2026-01-05 11:30",
    ]
    assert _buttons(edit) == [("◀ Назад", "list:1")]
    assert api.since(mark, ["answerCallbackQuery"])


async def test_view_shows_the_whole_dialog_in_order_split_at_4096(world):
    account = await world.seed.account("+79005556677")
    n = await world.seed.dialog(
        account, "ivan_petrov", user_id=5001, stage=Stage.OBJECTIONS, warmth=40, minutes_ago=600
    )
    texts = []
    for i in range(12):
        text = (f"{i:02d} " + "слово " * 150).strip()
        texts.append(text)
        if i % 2:
            await world.seed.received(n, account, text, minutes_ago=600 - i)
        else:
            await world.seed.sent(n, account, text, kind=OutKind.REPLY, minutes_ago=600 - i)

    answers = await world.admin.send(f"/view {n}")

    assert len(answers) == 3 and all(len(a) <= 4096 for a in answers)
    whole = "\n".join(answers)
    assert whole.startswith(
        f"Диалог {n}\nКлиент: @ivan_petrov (id 5001)\nАккаунт: +79005556677 (#{account})\n"
        "Статус: активен\nЭтап: возражения, теплота 40/100\n"
        "Начат: 2026-01-05 02:00\nПоследняя активность: 2026-01-05 02:00"
    )
    lines = [line for line in whole.splitlines() if line.startswith("[")]
    assert [line.split(": ", 1)[1] for line in lines] == texts
    assert lines[0].startswith("[2026-01-05 02:00] мы: 00 ")
    assert lines[1].startswith("[2026-01-05 02:01] @ivan_petrov: 01 ")


async def test_view_marks_queued_failed_and_manual_messages(world):
    account = await world.seed.account()
    n = await world.seed.dialog(account, "ivan_petrov")
    await world.seed.queued(n, account, "By hand", kind=OutKind.MANUAL)
    failed = await world.seed.queued(n, account, "Lost")
    await world.poke(messages, failed, delivery=Delivery.FAILED)

    answer = await world.admin.reply(f"/view {n}")

    assert answer.endswith(
        "[2026-01-05 12:00] мы (вручную) (в очереди): By hand\n"
        "[2026-01-05 12:00] мы (не доставлено): Lost"
    )


async def test_stats_today_and_all_time_per_account(world):
    first = await world.seed.account("+79000000001")
    n = await world.seed.dialog(first, "lead_one", minutes_ago=30)
    await world.seed.sent(n, first, "Hi", kind=OutKind.OPENER, minutes_ago=30)
    await world.seed.received(n, first, "Hello", minutes_ago=20)
    m = await world.seed.dialog(first, "lead_two", minutes_ago=3 * 24 * 60)
    await world.seed.sent(m, first, "Hi", kind=OutKind.OPENER, minutes_ago=3 * 24 * 60)

    text, chart = await world.admin.calls("/stats")

    assert chart.method == "sendPhoto"  # what it shows: test_stats_chart.py
    answer = text.text

    assert answer == (
        "Сегодня (с 2026-01-05 00:00):\n"
        "Всего: первых сообщений 1, ответили 1 (сообщений 1), доля ответов 100%, целей 0, "
        "отказов 0, не подходят 0, отписок 0\n"
        "   +79000000001: первых сообщений 1, ответили 1 (сообщений 1), доля ответов 100%, "
        "целей 0, отказов 0, не подходят 0, отписок 0\n\n"
        "За всё время:\n"
        "Всего: первых сообщений 2, ответили 1 (сообщений 1), доля ответов 50%, целей 0, "
        "отказов 0, не подходят 0, отписок 0\n"
        "   +79000000001: первых сообщений 2, ответили 1 (сообщений 1), доля ответов 50%, "
        "целей 0, отказов 0, не подходят 0, отписок 0\n\n"
        "Диалоги: активных 2, на паузе 0, остановлено 0, завершено 0, отписались 0, "
        "не удались 0\n\n"
        "Расход ИИ за всё время:\n"
        "Всего: вход 0 ток. (из кэша 0), выход 0 ток., $0.0000\n"
        "   +79000000001: вход 0 ток. (из кэша 0), выход 0 ток., $0.0000"
    )


async def seed_spend(world):
    first = await world.seed.account("+79000000001")
    second = await world.seed.account("+79000000002")
    usage = [
        (first, "lead_one", 1000, 100, 600, 0.0012),
        (first, "lead_two", 2000, 300, 1500, 0.0030),
        (second, "lead_three", 500, 50, 0, 0.0007),
    ]
    for account, username, prompt, completion, cached, cost in usage:
        n = await world.seed.dialog(account, username)
        await world.poke(
            dialogs,
            n,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cached_tokens=cached,
            cost_usd=cost,
        )


async def test_stats_show_the_ai_spend_per_account_and_in_total(world):
    await seed_spend(world)

    answer, _ = await world.admin.send("/stats")  # and no chart: nothing was sent

    assert answer.endswith(
        "Расход ИИ за всё время:\n"
        "Всего: вход 3500 ток. (из кэша 2100), выход 450 ток., $0.0049\n"
        "   +79000000001: вход 3000 ток. (из кэша 2100), выход 400 ток., $0.0042\n"
        "   +79000000002: вход 500 ток. (из кэша 0), выход 50 ток., $0.0007"
    )


async def test_stats_show_the_ai_spend_in_english(make_world):
    world = await make_world(language="en")
    await seed_spend(world)

    answer, _ = await world.admin.send("/stats")  # and no chart: nothing was sent

    assert answer.endswith(
        "AI spend, all time:\n"
        "Total: 3500 tokens in (2100 cached), 450 out, $0.0049\n"
        "   +79000000001: 3000 tokens in (2100 cached), 400 out, $0.0042\n"
        "   +79000000002: 500 tokens in (0 cached), 50 out, $0.0007"
    )


async def test_view_shows_what_the_model_cost_in_the_dialog(world):
    account = await world.seed.account("+79005556677")
    n = await world.seed.dialog(account, "ivan_petrov")
    await world.poke(
        dialogs, n, prompt_tokens=12500, completion_tokens=840, cached_tokens=9216, cost_usd=0.00731
    )

    whole = "\n".join(await world.admin.send(f"/view {n}"))

    assert "Расход ИИ: вход 12500 ток. (из кэша 9216), выход 840 ток., $0.0073" in whole


async def test_view_shows_the_spend_in_english(make_world):
    world = await make_world(language="en")
    account = await world.seed.account("+79005556677")
    n = await world.seed.dialog(account, "ivan_petrov")
    await world.poke(dialogs, n, prompt_tokens=300, completion_tokens=20, cost_usd=0.0001)

    whole = "\n".join(await world.admin.send(f"/view {n}"))

    assert "AI spend: 300 tokens in (0 cached), 20 out, $0.0001" in whole


async def test_close_ends_a_lost_lead_sends_nothing_and_counts_apart(world):
    account = await world.seed.account()
    n = await world.seed.dialog(account, "ivan_petrov")
    await world.seed.queued(n, account, "Follow-up waiting", kind=OutKind.FOLLOW_UP)

    assert await world.admin.reply(f"/close {n} rejected бюджета нет до весны") == (
        f"Диалог {n} с @ivan_petrov закрыт: клиент отказался. Клиенту ничего не отправлено; "
        "отменено сообщений в очереди: 1."
    )

    dialog = await world.dialog(n)
    assert (dialog.status, dialog.outcome) == (DialogStatus.FINISHED, Outcome.REJECTED)
    assert dialog.status_reason == "operator: бюджета нет до весны"
    assert [m.delivery for m in await world.messages()] == [Delivery.CANCELLED]
    assert await world.admin.reply(f"/close {n} не_подходит") == f"Диалог {n} уже завершён."
    other = await world.seed.dialog(account, "anna_salon")
    assert "клиент не подходит" in await world.admin.reply(f"/close {other} not_qualified")
    assert (await world.dialog(other)).outcome is Outcome.NOT_QUALIFIED
    await world.seed.dialog(account, "silent_lead")

    stats, _ = await world.admin.send("/stats")  # and no chart: nothing was sent

    all_time = stats.split("За всё время:\n", 1)[1]
    assert "целей 0, отказов 1, не подходят 1, отписок 0" in all_time
    assert "активных 1, на паузе 0, остановлено 0, завершено 2" in all_time


async def _notice(world, api, event) -> dict:
    """The bot sends the admin `event` as its notice; the message Telegram made of it."""
    mark = api.mark()
    text = describe_event(event, Formatter(Texts("ru"), MOSCOW))
    await send_text(world.bot.application.bot, ADMIN, text)
    [call] = api.since(mark, ["sendMessage"])
    return call.result


async def test_replying_to_an_inbox_notice_sends_the_text_as_say(world, api):
    account = await world.seed.account()
    n = await world.seed.dialog(account, "ivan_petrov", status=DialogStatus.PAUSED)
    notice = await _notice(
        world,
        api,
        ev.ProspectWroteToOperator(n, "ivan_petrov", account, "Когда позвонит?", "paused"),
    )
    mark = api.mark()

    await api.deliver(api.reply_update(ADMIN, "Сегодня в 15:00, удобно?", to=notice))
    [answer] = await world.admin.settle(mark)

    assert answer.text == (
        f"Сообщение для @ivan_petrov (диалог {n}) в очереди: аккаунт #{account} "
        "отправит его, выдержав паузу между своими сообщениями; дневной лимит его не задерживает."
    )
    manual = [m for m in await world.messages() if m.kind is OutKind.MANUAL]
    assert [(m.dialog_id, m.content) for m in manual] == [(n, "Сегодня в 15:00, удобно?")]


async def test_a_reply_to_a_notice_about_several_dialogs_asks_which_and_sends_nothing(world, api):
    account = await world.seed.account()
    first = await world.seed.dialog(account, "ivan_petrov", status=DialogStatus.PAUSED)
    second = await world.seed.dialog(account, "anna_salon", status=DialogStatus.PAUSED)
    text = "\n\n".join(
        describe_event(
            ev.ProspectWroteToOperator(d, name, account, "Алло?", "paused"),
            Formatter(Texts("ru"), MOSCOW),
        )
        for d, name in ((first, "ivan_petrov"), (second, "anna_salon"))
    )
    mark = api.mark()
    await send_text(world.bot.application.bot, ADMIN, text)
    [call] = api.since(mark, ["sendMessage"])
    mark = api.mark()

    await api.deliver(api.reply_update(ADMIN, "Добрый день!", to=call.result))
    [answer] = await world.admin.settle(mark)

    assert answer.text == (
        f"Это уведомление о нескольких диалогах ({first}, {second}): ответьте командой "
        "/say N <текст>."
    )
    assert [m for m in await world.messages() if m.kind is OutKind.MANUAL] == []


async def test_a_reply_to_anything_else_is_not_a_command(world, api):
    mark = api.mark()
    await send_text(world.bot.application.bot, ADMIN, "Команды: …")
    [call] = api.since(mark, ["sendMessage"])
    mark = api.mark()

    await api.deliver(api.reply_update(ADMIN, "спасибо", to=call.result))

    assert [c.text for c in await world.admin.settle(mark)] == [
        "Я понимаю только команды. Все команды: /help"
    ]


async def test_the_inbox_buttons_resume_stop_and_ask_for_the_reply(world, api):
    account = await world.seed.account()
    n = await world.seed.dialog(account, "ivan_petrov", status=DialogStatus.PAUSED)
    m = await world.seed.dialog(account, "anna_salon", status=DialogStatus.PAUSED)

    mark = api.mark()
    await api.press_button(ADMIN, 1, f"inbox:resume:{n}")
    assert [c.text for c in await world.admin.settle(mark)] == [
        f"ИИ снова ведёт диалог {n} с @ivan_petrov."
    ]
    assert (await world.dialog(n)).status is DialogStatus.ACTIVE

    mark = api.mark()
    await api.press_button(ADMIN, 1, f"inbox:stop:{m}")
    assert [c.text for c in await world.admin.settle(mark)] == [
        f"Диалог {m} с @anna_salon остановлен. Отменено сообщений в очереди: 0."
    ]
    mark = api.mark()
    await api.press_button(ADMIN, 1, f"inbox:resume:{m}")  # a stopped dialog stays stopped
    [refused] = await world.admin.settle(mark)
    assert refused.text == f"Диалог {m} остановлен — возобновить его нельзя."

    p = await world.seed.dialog(account, "oleg_barber", status=DialogStatus.PAUSED)
    mark = api.mark()
    await api.press_button(ADMIN, 1, f"inbox:reply:{p}")
    [prompt] = await world.admin.settle(mark)
    assert prompt.json("reply_markup") == {"force_reply": True, "selective": True}
    mark = api.mark()
    await api.deliver(api.reply_update(ADMIN, "Перезвоню в 15:00", to=prompt.result))
    [queued] = await world.admin.settle(mark)
    assert queued.text.startswith(f"Сообщение для @oleg_barber (диалог {p}) в очереди")
    manual = [m for m in await world.messages() if m.kind is OutKind.MANUAL]
    assert [(x.dialog_id, x.content) for x in manual] == [(p, "Перезвоню в 15:00")]
