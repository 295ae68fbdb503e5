"""Every wrong input gets a specific answer: what was expected, with an example. One row per
input, with the exact reply (Russian, the default language)."""

import pytest

from salesbot.adapters.admin_bot.catalogue import Texts
from salesbot.adapters.persistence.models import accounts
from salesbot.application.errors import LlmRejected, LlmUnavailable
from salesbot.domain.account import AccountStatus
from salesbot.domain.dialog import DialogStatus
from salesbot.domain.do_not_contact import DoNotContact

ACCOUNT = "+79001234567"
BANNED = "+79002222222"
LOGGED_OUT = "+79003333333"
WRITING = Texts("ru")("writing_opener", username="new_lead")

CASES = [
    # --- the dialog number N -----------------------------------------------------------
    ("/stop", "Не указан номер диалога. Нужно: /stop N, например: /stop 12"),
    (
        "/stop abc",
        "«abc» — не номер диалога, нужно целое число. Нужно: /stop N, например: /stop 12",
    ),
    ("/stop 12 please", "Лишнее после номера: «please». Нужно: /stop N, например: /stop 12"),
    ("/view", "Не указан номер диалога. Нужно: /view N, например: /view 12"),
    ("/view 999", "Диалога 999 нет. Открытые диалоги: /list"),
    (
        "/pause x1",
        "«x1» — не номер диалога, нужно целое число. Нужно: /pause N, например: /pause 12",
    ),
    ("/pause {paused}", "Диалог {paused} уже на паузе."),
    ("/resume {active}", "Диалог {active} уже активен."),
    ("/resume {stopped}", "Диалог {stopped} остановлен — возобновить его нельзя."),
    ("/pause {stopped}", "Диалог {stopped} остановлен — поставить на паузу его нельзя."),
    ("/stop {stopped}", "Диалог {stopped} уже остановлен."),
    ("/stop 999", "Диалога 999 нет. Открытые диалоги: /list"),
    ("/export", "Не указан номер диалога. Нужно: /export N, например: /export 12"),
    ("/export 999", "Диалога 999 нет. Открытые диалоги: /list"),
    # --- /say ----------------------------------------------------------------------------
    (
        "/say",
        "Не указан номер диалога. Нужно: /say N <текст>, например: /say 12 Добрый день! "
        "Удобно созвониться завтра в 11?",
    ),
    (
        "/say {active}",
        "Нет текста. Нужно: /say N <текст>, например: /say 12 Добрый день! "
        "Удобно созвониться завтра в 11?",
    ),
    (
        "/say twelve hello",
        "«twelve» — не номер диалога, нужно целое число. Нужно: /say N <текст>, например: "
        "/say 12 Добрый день! Удобно созвониться завтра в 11?",
    ),
    ("/say 999 hello", "Диалога 999 нет. Открытые диалоги: /list"),
    (
        "/say {stopped} hello",
        "Диалог {stopped} остановлен — писать в него нельзя. Новый диалог: /start @username",
    ),
    # --- /start ----------------------------------------------------------------------------
    (
        "/start",
        "Не указан username. Нужно: /start @username [контекст для ИИ], например: "
        "/start @ivan_petrov ищет CRM для отдела продаж",
    ),
    (
        "/start @ab",
        "«@ab» не подходит как username: нужно 5–32 символа, а не 2. Пример: /start @ivan_petrov",
    ),
    (
        "/start @1van_petrov",
        "«@1van_petrov» не подходит как username: должен начинаться с буквы. "
        "Пример: /start @ivan_petrov",
    ),
    (
        "/start ivan__petrov",
        "«ivan__petrov» не подходит как username: не может содержать два _ подряд. "
        "Пример: /start @ivan_petrov",
    ),
    (
        "/start @иван_петров",
        "«@иван_петров» не подходит как username: допустимы только латинские буквы, цифры и _. "
        "Пример: /start @ivan_petrov",
    ),
    (
        "/start @ivan_petrov_",
        "«@ivan_petrov_» не подходит как username: не может заканчиваться на _. "
        "Пример: /start @ivan_petrov",
    ),
    (
        "/start https://example.com/ivan",
        "«https://example.com/ivan» не подходит как username: из ссылок понимаю только t.me. "
        "Пример: /start @ivan_petrov",
    ),
    (
        "/start @Ivan_Petrov",
        "@ivan_petrov уже в открытом диалоге {active}. Посмотреть: /view {active}",
    ),
    (
        "/start t.me/anna_salon",
        "@anna_salon просил(а) больше не писать и в списке «не беспокоить» — диалог не начат.",
    ),
    (
        "/start @ghost_user",
        "Не удаётся написать @ghost_user: такого пользователя нет. Диалог не начат.",
    ),
    # --- /close ----------------------------------------------------------------------------
    (
        "/close",
        "Не указан номер диалога. Нужно: /close N rejected|not_qualified [заметка], "
        "например: /close 12 rejected",
    ),
    (
        "/close {active}",
        "Укажите причину: rejected (отказ) или not_qualified (не_подходит). Формат: "
        "/close N rejected|not_qualified [заметка]",
    ),
    (
        "/close {active} maybe",
        "Причина «maybe» непонятна: нужна rejected (отказ) или not_qualified (не_подходит). "
        "Формат: /close N rejected|not_qualified [заметка]",
    ),
    ("/close 999 rejected", "Диалога 999 нет. Открытые диалоги: /list"),
    ("/close {stopped} rejected", "Диалог {stopped} остановлен — закрыть его нельзя."),
    # --- accounts --------------------------------------------------------------------------
    (
        "/add_account",
        "Не указан телефон. Нужно: /add_account <телефон> [прокси], например: "
        "/add_account +79001234567 или /add_account +79001234567 socks5://user:pass@1.2.3.4:1080",
    ),
    (
        "/add_account 12ab",
        "«12ab» не похож на номер телефона: допустимы только цифры, пробелы, дефисы и + в "
        "начале. Пример: +79001234567",
    ),
    (
        "/add_account +7 900",
        "«+7 900» не похож на номер телефона: в международном номере 7–15 цифр, а не 4. "
        "Пример: +79001234567",
    ),
    (
        "/add_account +79001112233 ftp://proxy:21",
        "«ftp://proxy:21» не похож на прокси. Нужно: схема://[логин:пароль@]хост:порт, "
        "например socks5://user:pass@1.2.3.4:1080 (схемы: socks5, socks4, http)",
    ),
    (
        "/add_account +79001112233 socks5://proxy:1080 now",
        "Лишнее после прокси: «now». Нужно: /add_account <телефон> [прокси], "
        "например: /add_account +79001234567",
    ),
    (
        f"/add_account {ACCOUNT}",
        f"Аккаунт {ACCOUNT} уже добавлен. Все аккаунты: /list_accounts",
    ),
    (
        "/disable_account",
        "Не указан телефон. Нужно: /disable_account <телефон>, например: "
        "/disable_account +79001234567",
    ),
    ("/disable_account +79990000000", "Аккаунта +79990000000 нет. Все аккаунты: /list_accounts"),
    (
        "/enable_account phone",
        "«phone» не похож на номер телефона: допустимы только цифры, пробелы, дефисы и + в "
        "начале. Пример: +79001234567",
    ),
    (f"/enable_account {BANNED}", f"Аккаунт {BANNED} заблокирован — включить его нельзя."),
    (
        f"/enable_account {LOGGED_OUT}",
        f"Аккаунт {LOGGED_OUT} вышел из сессии — вернуть его можно только новым входом: "
        f"/add_account {LOGGED_OUT}",
    ),
    # --- anything else -------------------------------------------------------------------
    ("/frobnicate", "Неизвестная команда /frobnicate. Все команды: /help"),
    (
        "/list@some_other_bot",
        "Неизвестная команда /list@some_other_bot. Все команды: /help",
    ),
    ("hello bot", "Я понимаю только команды. Все команды: /help"),
    ("/cancel", "Отменять нечего."),
]


async def _prepare(world) -> dict[str, int]:
    account = await world.connected_account(ACCOUNT)
    banned = await world.seed.account(BANNED)
    await world.poke(accounts, banned, status=AccountStatus.BANNED)
    logged_out = await world.seed.account(LOGGED_OUT)
    await world.poke(accounts, logged_out, status=AccountStatus.LOGGED_OUT)
    async with world.uow() as uow:
        await uow.do_not_contact.add(
            DoNotContact(
                username="anna_salon", user_id=None, reason="opt-out", created_at=world.clock.now()
            )
        )
        await uow.commit()
    return {
        "active": await world.seed.dialog(account, "ivan_petrov"),
        "paused": await world.seed.dialog(account, "paused_lead", status=DialogStatus.PAUSED),
        "stopped": await world.seed.dialog(account, "closed_lead", status=DialogStatus.STOPPED),
    }


@pytest.mark.parametrize(("typed", "expected"), CASES, ids=[c[0] for c in CASES])
async def test_a_wrong_input_is_answered_with_what_was_expected(world, typed, expected):
    ids = await _prepare(world)
    before = {d.id: d.status for d in await world.dialogs()}

    assert await world.admin.reply(typed.format(**ids)) == expected.format(**ids)

    assert {d.id: d.status for d in await world.dialogs()} == before
    assert world.llm.calls == []


async def test_start_without_a_connected_account_says_none_is_available(world):
    await world.seed.account(ACCOUNT)  # stored, but its client is not connected
    assert await world.admin.reply("/start @new_lead") == (
        "Нет аккаунта, который может начать диалог сейчас: все отключены, ограничены, "
        "не подключены или исчерпали дневной лимит. Аккаунты: /list_accounts"
    )


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (
            LlmRejected(LlmRejected.CREDITS, "402 insufficient credits"),
            "ИИ отказывает (402 insufficient credits): проверьте ключ OpenRouter и баланс. "
            "Диалог не начат.",
        ),
        (
            LlmUnavailable("timeout"),
            "ИИ сейчас не отвечает, диалог не начат. Попробуйте через пару минут.",
        ),
    ],
)
async def test_start_when_the_model_fails_says_why_and_starts_nothing(world, failure, expected):
    await world.connected_account(ACCOUNT)
    world.telegram.add_user("new_lead", 7001)
    world.llm.queue(failure, failure, failure)

    assert await world.admin.send("/start @new_lead") == [WRITING, expected]
    assert await world.dialogs() == []


KEY = "sk-or-v1-" + "0123456789abcdef" * 4


async def test_a_providers_error_body_that_repeats_the_key_is_masked_in_the_answer(world):
    """Measured: a 401 body that repeats the key put the whole OPENROUTER_API_KEY into two
    Telegram messages (the /start answer and the model-failing notice); logs were masked."""
    await world.connected_account(ACCOUNT)
    world.telegram.add_user("new_lead", 7001)
    body = f'{{"error": {{"message": "Invalid API key {KEY}", "code": 401}}}}'
    rejected = LlmRejected(LlmRejected.KEY, f"OpenRouter rejected the API key: {body}")
    world.llm.queue(rejected, rejected, rejected)

    writing, answer = await world.admin.send("/start @new_lead")

    assert writing == WRITING
    assert "OpenRouter rejected the API key" in answer and "Invalid API key ***" in answer
    assert "0123456789abcdef" not in answer
