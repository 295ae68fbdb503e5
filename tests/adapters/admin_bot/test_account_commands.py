"""/add_account as a conversation (code, then the 2FA password, whose message is deleted),
/list_accounts, /disable_account, /enable_account — end to end on AccountService."""

from datetime import timedelta

from salesbot.adapters.logging import secret_mask
from salesbot.adapters.persistence.models import accounts as accounts_table
from salesbot.domain.account import AccountStatus
from tests.adapters.admin_bot.conftest import ADMIN
from tests.secrets import TWO_FA_PASSWORD

PHONE = "+79001234567"
CODE_SENT = (
    f"Код отправлен в Telegram на {PHONE}. Пришлите его с пробелами между цифрами, "
    "например 1 2 3 4 5 — код, присланный одним числом, Telegram сразу аннулирует. "
    "Отмена: /cancel"
)


async def accounts(world):
    return await world.accounts()


async def test_add_account_with_two_step_verification_deletes_the_password_message(world, api):
    world.telegram.login_passwords[PHONE] = TWO_FA_PASSWORD

    assert await world.admin.reply("/add_account +7 (900) 123-45-67") == CODE_SENT
    assert await world.admin.reply("1 2 3 4 5") == (
        "На аккаунте включена двухэтапная проверка. Пришлите пароль — сообщение с ним "
        "я удалю сразу после прочтения. Отмена: /cancel"
    )
    mark = api.mark()
    password_message = await api.send_message(ADMIN, TWO_FA_PASSWORD)
    [added] = await world.admin.settle(mark)

    [account] = await accounts(world)
    assert added.text == f"Аккаунт {PHONE} добавлен (#{account.id})."
    assert (account.phone, account.status) == (PHONE, AccountStatus.ACTIVE)
    assert (ADMIN, password_message) in api.deleted
    [delete] = api.since(mark, ["deleteMessage"])
    assert api.calls.index(delete) < api.calls.index(added), "deleted before answering"


async def test_a_wrong_code_is_asked_again_and_cancel_leaves_the_login(world):
    assert await world.admin.reply(f"/add_account {PHONE}") == CODE_SENT
    assert await world.admin.reply("5 4 3 2 1") == (
        "Код неверный. Пришлите его ещё раз с пробелами, например 1 2 3 4 5, или /cancel"
    )
    assert await world.admin.reply("/cancel") == f"Вход для {PHONE} отменён."
    assert world.telegram._logins == {}
    # The conversation is over: a code now is just text.
    assert await world.admin.reply("1 2 3 4 5") == "Я понимаю только команды. Все команды: /help"
    assert await accounts(world) == []


async def test_add_account_without_a_password_and_with_a_proxy(world):
    await world.admin.reply(f"/add_account {PHONE} socks5://user:secret@10.0.0.1:1080")
    [answer] = await world.admin.send("1 2 3 4 5")
    [account] = await accounts(world)
    assert answer == f"Аккаунт {PHONE} добавлен (#{account.id})."
    assert account.proxy == "socks5://user:secret@10.0.0.1:1080"


async def test_a_wrong_password_is_asked_again(world, api):
    world.telegram.login_passwords[PHONE] = TWO_FA_PASSWORD
    await world.admin.reply(f"/add_account {PHONE}")
    await world.admin.reply("1 2 3 4 5")
    assert await world.admin.reply("not-it") == "Пароль неверный. Пришлите его ещё раз или /cancel"
    assert len(api.deleted) == 1
    [answer] = await world.admin.send(TWO_FA_PASSWORD)
    assert answer.startswith(f"Аккаунт {PHONE} добавлен")


async def test_list_disable_and_enable_accounts(world):
    first = await world.seed.account(PHONE)
    second = await world.seed.account("+79007654321")
    proxied = await world.account(second)
    proxied.proxy = "socks5://10.0.0.1:1080"
    async with world.uow() as uow:
        await uow.accounts.update(proxied)
        await uow.commit()
    await world.seed.dialog(first, "ivan_petrov")
    for minutes in (3, 2):
        n = await world.seed.dialog(first, f"lead_{minutes}")
        await world.seed.sent(n, first, "hi", minutes_ago=minutes)
    await world.poke(
        accounts_table,
        first,
        daily_messages=2,
        quota_day=world.clock.now().date(),
        last_used=world.clock.now() - timedelta(seconds=10),
    )

    assert await world.admin.reply("/list_accounts") == (
        "Аккаунты: 2\n"
        f"#{first} {PHONE} — активен\n"
        "   сегодня 2/20, следующий слот: 2026-01-05 12:00, активных диалогов: 3\n"
        f"#{second} +79007654321 — активен\n"
        "   сегодня 0/20, следующий слот: сейчас, активных диалогов: 0, через прокси"
    )
    assert await world.admin.reply("/disable_account +7 900 765-43-21") == (
        "Аккаунт +79007654321 отключён. Включить: /enable_account +79007654321"
    )
    assert (await world.account(second)).status is AccountStatus.DISABLED
    assert await world.admin.reply("/enable_account +79007654321") == (
        "Аккаунт +79007654321 включён."
    )
    assert (await world.account(second)).status is AccountStatus.ACTIVE


async def test_login_goes_on_when_the_password_message_cannot_be_deleted(world, api, caplog):
    world.telegram.login_passwords[PHONE] = TWO_FA_PASSWORD
    await world.admin.reply(f"/add_account {PHONE}")
    await world.admin.reply("1 2 3 4 5")
    api.fail_next("deleteMessage", error_code=400, description="Bad Request: can't be deleted")
    [answer] = await world.admin.send(TWO_FA_PASSWORD)
    assert answer.startswith(f"Аккаунт {PHONE} добавлен")
    assert any("could not delete" in r.getMessage() for r in caplog.records)


# --- a proxy with a password in /add_account ---------------------------------------------

# Unique to these tests (the process's mask is shared), percent-encoded as a URL needs.
PROXY_PASSWORD = "TEST-proxy-p@ss-canary-5d1e"
PROXY = f"socks5://seller:{PROXY_PASSWORD.replace('@', '%40')}@10.0.0.1:1080"


async def test_an_add_account_message_with_a_proxy_password_is_deleted_before_the_answer(
    world, api, caplog
):
    mark = api.mark()
    command = await api.send_message(ADMIN, f"/add_account {PHONE} {PROXY}")
    [answer] = await world.admin.settle(mark)

    assert answer.text == CODE_SENT
    assert (ADMIN, command) in api.deleted
    [delete] = api.since(mark, ["deleteMessage"])
    assert api.calls.index(delete) < api.calls.index(answer), "deleted before answering"
    [added] = await world.admin.send("1 2 3 4 5")
    assert added.startswith(f"Аккаунт {PHONE} добавлен")
    [account] = await accounts(world)
    assert account.proxy == PROXY
    # What the process logs from now on never shows it, in any spelling.
    for spelling in (PROXY, PROXY_PASSWORD, PROXY_PASSWORD.replace("@", "%40")):
        assert spelling not in secret_mask(f"connecting through {spelling}")
    assert not [r for r in caplog.records if PROXY_PASSWORD in r.getMessage()]


async def test_a_refused_add_account_with_a_proxy_password_is_deleted_and_not_repeated(world, api):
    for command, expected in (
        (
            f"/add_account {PHONE} {PROXY} now",
            "Лишнее после прокси: «now». Нужно: /add_account <телефон> [прокси], "
            "например: /add_account +79001234567",
        ),
        (
            f"/add_account {PHONE} ftp://seller:{PROXY_PASSWORD.replace('@', '%40')}@h:21",
            "«ftp://***@h:21» не похож на прокси. Нужно: схема://[логин:пароль@]хост:порт, "
            "например socks5://user:pass@1.2.3.4:1080 (схемы: socks5, socks4, http)",
        ),
        (
            f"/add_account {PHONE} seller:{PROXY_PASSWORD.replace('@', '%40')}@10.0.0.1:1080",
            "«***@10.0.0.1:1080» не похож на прокси. Нужно: схема://[логин:пароль@]хост:порт, "
            "например socks5://user:pass@1.2.3.4:1080 (схемы: socks5, socks4, http)",
        ),
    ):
        mark = api.mark()
        message_id = await api.send_message(ADMIN, command)
        [answer] = await world.admin.settle(mark)
        assert answer.text == expected
        assert (ADMIN, message_id) in api.deleted
    assert await accounts(world) == []


async def test_login_goes_on_when_the_proxy_message_cannot_be_deleted(world, api, caplog):
    api.fail_next("deleteMessage", error_code=400, description="Bad Request: can't be deleted")
    assert await world.admin.reply(f"/add_account {PHONE} {PROXY}") == CODE_SENT
    [answer] = await world.admin.send("1 2 3 4 5")
    assert answer.startswith(f"Аккаунт {PHONE} добавлен")
    assert any("could not delete" in r.getMessage() for r in caplog.records)


async def test_an_add_account_message_without_a_password_stays(world, api):
    mark = api.mark()
    await world.admin.reply(f"/add_account {PHONE} socks5://10.0.0.1:1080")
    assert api.since(mark, ["deleteMessage"]) == []


async def test_text_written_while_the_bot_was_down_is_deleted_it_may_be_a_password(
    api, make_world
):
    # /add_account was under way when the service restarted: the password arrives to a bot
    # that no longer knows about the conversation.
    password_message = await api.send_message(ADMIN, "correct horse battery", seconds_ago=30)
    world = await make_world()

    [answer] = await api.wait_replies(ADMIN, 1)

    assert (ADMIN, password_message) in api.deleted
    assert "удалил" in answer.text and "/add_account" in answer.text
    mark = api.mark()
    assert await world.admin.reply("просто текст") == (
        "Я понимаю только команды. Все команды: /help"
    ), "text written while the bot runs is not a lost secret"
    assert not {m for _, m in api.deleted} - {password_message}
    assert api.since(mark, ["deleteMessage"]) == []
