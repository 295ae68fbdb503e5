"""/help lists every command with its arguments in the admin's language; ADMIN_LANGUAGE=en
switches every text."""

from salesbot.adapters.admin_bot.catalogue import COMMANDS


async def test_help_lists_every_command_with_its_arguments_in_russian(world):
    text = await world.admin.reply("/help")
    for usage in (
        "/add_account <телефон> [прокси] — добавить аккаунт: код, затем пароль 2FA",
        "/start @username [контекст для ИИ] — начать диалог",
        "/say N <текст> — написать в диалог N вручную",
        "/export_all — все диалоги архивом .zip",
        "/set_prompt [текст] — заменить сценарий: текст или файл .txt",
    ):
        assert usage in text
    assert all(f"/{c.name}" in text for c in COMMANDS)
    assert text.endswith("N — номер диалога из /list. Время указано в часовом поясе Europe/Moscow.")


async def test_english_admins_get_english_help_menu_and_answers(make_world, api):
    world = await make_world(language="en")
    text = await world.admin.reply("/help")
    assert text.startswith("Commands:\n\nAccounts\n/add_account <phone> [proxy] — add an account")
    assert "/view N — the whole dialog N" in text
    [menu] = [c for c in api.calls if c.method == "setMyCommands"]
    assert menu.json("commands")[0] == {
        "command": "add_account",
        "description": "add an account: code, then 2FA",
    }
    assert await world.admin.reply("/stop abc") == (
        "“abc” is not a dialog number: expected a whole number. Expected: /stop N, e.g. /stop 12"
    )
    assert await world.admin.reply("/start @ab") == (
        "“@ab” is not a valid username: it must be 5-32 characters long, not 2. "
        "Example: /start @ivan_petrov"
    )
    assert await world.admin.reply("/list") == "No open dialogs. Start one: /start @username"
