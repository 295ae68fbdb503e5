"""/prompt and /set_prompt (text after the command, the text in a second message, or a .txt
file) on the real SalesScript."""

from salesbot.application.conversation.sales_script import MAX_SCRIPT_CHARS
from tests.adapters.admin_bot.conftest import ADMIN, SCRIPT

NEW_SCRIPT = "Новый сценарий.\nЦель: демо-звонок.\n\nЦена: 990 ₽ в месяц."


async def test_prompt_shows_the_current_script(world):
    assert await world.admin.reply("/prompt") == (
        f"Текущий сценарий продаж ({len(SCRIPT)} символов):\n\n{SCRIPT}"
    )


async def test_set_prompt_with_the_text_after_the_command_keeps_its_lines(world):
    assert await world.admin.reply(f"/set_prompt {NEW_SCRIPT}") == (
        f"Сценарий продаж заменён ({len(NEW_SCRIPT)} символов). ИИ пишет по нему с этого момента."
    )
    assert await world.use_cases.script.get() == NEW_SCRIPT


async def test_set_prompt_then_the_text_in_the_next_message(world):
    assert await world.admin.reply("/set_prompt") == (
        "Пришлите новый сценарий продаж текстом или файлом .txt (UTF-8). Отмена: /cancel"
    )
    [answer] = await world.admin.send(NEW_SCRIPT)
    assert answer.startswith("Сценарий продаж заменён")
    assert await world.use_cases.script.get() == NEW_SCRIPT


async def test_set_prompt_then_a_txt_file(world, api):
    await world.admin.reply("/set_prompt")
    mark = api.mark()
    await api.send_document(ADMIN, "script.txt", ("\ufeff" + NEW_SCRIPT).encode("utf-8"))
    [answer] = await world.admin.settle(mark)
    assert answer.text.startswith("Сценарий продаж заменён")
    assert await world.use_cases.script.get() == NEW_SCRIPT
    assert api.since(mark, ["getFile"])


async def test_a_txt_file_captioned_set_prompt_replaces_the_script_at_once(world, api):
    mark = api.mark()
    await api.send_document(ADMIN, "script.txt", NEW_SCRIPT.encode(), caption="/set_prompt")
    [answer] = await world.admin.settle(mark)
    assert answer.text.startswith("Сценарий продаж заменён")
    assert await world.use_cases.script.get() == NEW_SCRIPT


async def test_cancel_leaves_the_script_as_it_was(world):
    await world.admin.reply("/set_prompt")
    assert await world.admin.reply("/cancel") == "Отменено."
    assert await world.admin.reply("just text") == "Я понимаю только команды. Все команды: /help"
    assert await world.use_cases.script.get() == SCRIPT


async def _upload(world, api, filename, content, mime_type="text/plain"):
    await world.admin.reply("/set_prompt")
    mark = api.mark()
    await api.send_document(ADMIN, filename, content, mime_type=mime_type)
    [answer] = await world.admin.settle(mark)
    return answer.text


async def test_wrong_files_are_refused_with_the_reason_and_the_bot_keeps_waiting(world, api):
    assert await _upload(world, api, "script.pdf", b"%PDF", "application/pdf") == (
        "Нужен файл .txt в UTF-8, а пришёл «script.pdf»."
    )
    assert await _upload(world, api, "script.txt", "Сценарий".encode("cp1251")) == (
        "Файл «script.txt» не в кодировке UTF-8 — сохраните его в UTF-8 и пришлите снова."
    )
    too_big = b"a" * (4 * MAX_SCRIPT_CHARS + 1)
    assert await _upload(world, api, "big.txt", too_big) == (
        f"Файл «big.txt» слишком большой: {len(too_big) // 1024} КБ, а сценарий — до "
        f"{4 * MAX_SCRIPT_CHARS // 1024} КБ."
    )
    long_script = "a" * (MAX_SCRIPT_CHARS + 1)
    assert await _upload(world, api, "long.txt", long_script.encode()) == (
        f"Сценарий слишком длинный: {MAX_SCRIPT_CHARS + 1} символов, а помещается до "
        f"{MAX_SCRIPT_CHARS}. Сократите его и пришлите снова."
    )
    assert await _upload(world, api, "empty.txt", b"  \n ") == (
        "Сценарий пустой. Пришлите текст сценария или файл .txt. Отмена: /cancel"
    )
    # Still waiting for a usable script.
    [answer] = await world.admin.send(NEW_SCRIPT)
    assert answer.startswith("Сценарий продаж заменён")
